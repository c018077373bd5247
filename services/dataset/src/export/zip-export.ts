import { once } from 'node:events';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { ZipArchive, type ZipEntryData } from 'archiver';
import { exportPath } from './export-path.js';
import type { ExportRow } from './export-row.js';
import { csvHeader, csvLine, jsonLine } from './manifest.js';

// Streams a dataset export as a ZIP: images under `<split>/<label>/`, then manifest.csv and
// manifest.jsonl at the root. Memory stays flat whatever the dataset's size: images are
// fetched a bounded window ahead, and manifest lines go to temp files until the end.

export interface ZipExportOptions {
  /** Ordered by split, label, file name, id (see exportPath). */
  rows: AsyncIterable<ExportRow>;
  fetchImage: (row: ExportRow) => Promise<Buffer>;
  output: Writable;
  /** Images fetched ahead of the one being written; default 32. */
  prefetch?: number;
}

export interface ZipExportSummary {
  images: number;
  /** Size of the archive written to output. */
  bytes: number;
}

/** Appends one entry and waits until the archive has written it (so entries never pile up). */
function appendEntry(archive: ZipArchive, source: Buffer | Readable, data: ZipEntryData): Promise<void> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      archive.off('entry', onEntry);
      archive.off('error', onError);
      archive.off('close', onClose);
    };
    const onEntry = () => (cleanup(), resolve());
    const onError = (err: Error) => (cleanup(), reject(err));
    const onClose = () => (cleanup(), reject(new Error('the archive closed before the entry was written')));
    archive.on('entry', onEntry);
    archive.on('error', onError);
    archive.on('close', onClose);
    if (archive.destroyed) onClose(); // the output failed while the entry was being fetched
    else archive.append(source, data);
  });
}

/**
 * A temp file for manifest lines. Its errors are read back by writeLine/closeFile; the listener keeps
 * a late one (cleanup destroying the stream while a write is still in flight) from being uncaught.
 */
function tempFile(path: string): WriteStream {
  const stream = createWriteStream(path);
  stream.on('error', () => undefined);
  return stream;
}

async function writeLine(stream: WriteStream, line: string): Promise<void> {
  if (stream.errored) throw stream.errored;
  if (!stream.write(line)) await once(stream, 'drain');
}

async function closeFile(stream: WriteStream): Promise<void> {
  stream.end();
  await finished(stream);
}

export async function writeZipExport(options: ZipExportOptions): Promise<ZipExportSummary> {
  const prefetch = options.prefetch ?? 32;
  if (!Number.isInteger(prefetch) || prefetch < 1) throw new RangeError('prefetch must be a positive integer');

  const tempDir = await mkdtemp(join(tmpdir(), 'labelloop-export-'));
  const csvPath = join(tempDir, 'manifest.csv');
  const jsonlPath = join(tempDir, 'manifest.jsonl');
  const csv = tempFile(csvPath);
  const jsonl = tempFile(jsonlPath);
  // Images are already compressed: they are stored; only the manifests are deflated.
  const archive = new ZipArchive({ zlib: { level: 6 } });
  // pipeline() respects the output's backpressure and destroys both ends if either fails.
  const piping = pipeline(archive, options.output);
  // Failures surface through `piping` and appendEntry; these keep them from going unhandled.
  piping.catch(() => undefined);
  archive.on('error', () => undefined);

  let images = 0;
  const window: Array<{ row: ExportRow; path: string; image: Promise<Buffer> }> = [];
  const writeNext = async () => {
    const next = window.shift()!;
    const bytes = await next.image;
    await appendEntry(archive, bytes, { name: next.path, store: true, date: next.row.labeledAt });
    images += 1;
  };

  try {
    await writeLine(csv, csvHeader(true));
    let previousPath: string | undefined;
    for await (const row of options.rows) {
      const path = exportPath(row, previousPath);
      previousPath = path;
      await writeLine(csv, csvLine(row, path));
      await writeLine(jsonl, jsonLine(row, path));
      const image = options.fetchImage(row);
      image.catch(() => undefined); // a failure surfaces when the image's turn comes
      window.push({ row, path, image });
      if (window.length >= prefetch) await writeNext();
    }
    while (window.length > 0) await writeNext();

    await Promise.all([closeFile(csv), closeFile(jsonl)]);
    const now = new Date();
    await appendEntry(archive, createReadStream(csvPath), { name: 'manifest.csv', date: now });
    await appendEntry(archive, createReadStream(jsonlPath), { name: 'manifest.jsonl', date: now });
    await archive.finalize();
    await piping;
    return { images, bytes: archive.pointer() };
  } catch (err) {
    const error = err instanceof Error ? err : new Error(String(err));
    archive.destroy(error); // pipeline() passes it on to output
    await piping.catch(() => undefined);
    if (!options.output.destroyed) options.output.destroy(error);
    throw error;
  } finally {
    csv.destroy();
    jsonl.destroy();
    await rm(tempDir, { recursive: true, force: true });
  }
}
