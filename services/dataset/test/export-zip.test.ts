import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { makeTempDir, mnistLabel, mnistPng, type TempDir } from '@labelloop/testing';
import yauzl from 'yauzl';
import type { ExportRow, ExportSplit } from '../src/export/export-row.js';
import { writeZipExport } from '../src/export/zip-export.js';
import { readArchiveListing } from '../src/ingest/archive-listing.js';
import { writeZip } from './ingest-fixtures.js';

/** Collects what is written; optionally slow, to make the producer wait. */
class Sink extends Writable {
  readonly chunks: Buffer[] = [];
  maxBuffered = 0;
  constructor(private readonly delayMs = 0) {
    super({ highWaterMark: 16 * 1024 });
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error) => void): void {
    this.chunks.push(chunk);
    this.maxBuffered = Math.max(this.maxBuffered, this.writableLength);
    if (this.delayMs > 0) setTimeout(done, this.delayMs);
    else done();
  }
  get bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

async function* source(rows: ExportRow[]): AsyncIterable<ExportRow> {
  for (const r of rows) yield r;
}

async function unzip(zip: Buffer): Promise<Map<string, { bytes: Buffer; method: number }>> {
  const file = await yauzl.fromBufferPromise(zip, { lazyEntries: true, validateEntrySizes: true });
  const out = new Map<string, { bytes: Buffer; method: number }>();
  for await (const entry of file.eachEntry()) {
    const chunks: Buffer[] = [];
    for await (const c of await file.openReadStreamPromise(entry)) chunks.push(c as Buffer);
    out.set(entry.fileName, { bytes: Buffer.concat(chunks), method: entry.compressionMethod });
  }
  return out;
}

function exportTempDirs(): number {
  return readdirSync(tmpdir()).filter((n) => n.startsWith('labelloop-export-')).length;
}

describe('writeZipExport', () => {
  const splits: Array<ExportSplit | null> = ['train', 'validation', 'test', null];
  const images = new Map<string, Buffer>();
  let rows: ExportRow[];
  let tmp: TempDir;

  before(async () => {
    tmp = makeTempDir('export');
    rows = [];
    for (let i = 0; i < 24; i++) {
      const png = await mnistPng('test', i);
      images.set(`item-${i}`, png);
      rows.push({
        itemId: `item-${i}`,
        // Items 0–3 share a name to exercise collisions.
        fileName: i < 4 ? 'digit.png' : `${i}.png`,
        sha256: createHash('sha256').update(png).digest('hex'),
        label: i < 4 ? '1' : String(mnistLabel('test', i)),
        labelSource: i % 2 === 0 ? 'human' : 'model',
        modelVersion: i % 2 === 0 ? '' : 'cnn-v1',
        confidence: i % 2 === 0 ? null : 0.5 + i / 100,
        split: i < 4 ? 'train' : splits[i % 4]!,
        labeledAt: new Date(Date.UTC(2024, 0, 1, 0, 0, i)),
      });
    }
    // The order the caller promises: split, label, file name, id.
    const key = (r: ExportRow) => [r.split ?? '~', r.label, r.fileName, r.itemId].join('\u0000');
    rows.sort((a, b) => (key(a) < key(b) ? -1 : 1));
  });
  after(() => tmp.remove());

  it('writes every image, stored and byte-identical, under <split>/<label>/, with both manifests', async () => {
    const sink = new Sink();
    const summary = await writeZipExport({ rows: source(rows), fetchImage: async (r) => images.get(r.itemId)!, output: sink });
    const zip = sink.bytes;
    assert.equal(summary.images, rows.length);
    assert.equal(summary.bytes, zip.length);

    const entries = await unzip(zip);
    const imagePaths = [...entries.keys()].filter((p) => p.endsWith('.png'));
    assert.equal(imagePaths.length, rows.length);
    const perSplit = new Map<string, number>();
    for (const p of imagePaths) perSplit.set(p.split('/')[0]!, (perSplit.get(p.split('/')[0]!) ?? 0) + 1);
    assert.deepEqual(Object.fromEntries(perSplit), { train: 9, validation: 5, test: 5, unassigned: 5 });
    assert.deepEqual(
      imagePaths.filter((p) => p.startsWith('train/1/digit')),
      ['train/1/digit.png', ...rows.filter((r) => r.fileName === 'digit.png').slice(1).map((r) => `train/1/digit-${r.sha256.slice(0, 8)}.png`)],
    );

    const csv = entries.get('manifest.csv')!.bytes.toString('utf8').trimEnd().split('\n');
    assert.equal(csv[0], 'item_id,file_name,sha256,label,label_source,model_version,confidence,split,labeled_at,path');
    assert.equal(csv.length, rows.length + 1);
    const jsonl = entries.get('manifest.jsonl')!.bytes.toString('utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
    assert.equal(jsonl.length, rows.length);
    for (const [i, line] of jsonl.entries()) {
      const row = rows[i]!;
      assert.equal(line.item_id, row.itemId);
      assert.equal(line.split, row.split);
      assert.equal(line.confidence, row.confidence);
      assert.equal(line.labeled_at, row.labeledAt.toISOString());
      const entry = entries.get(line.path)!;
      assert.ok(entry.bytes.equals(images.get(row.itemId)!), `${line.path} holds ${row.itemId}`);
      assert.equal(entry.method, 0, 'images are stored, not deflated');
      assert.ok(csv[i + 1]!.startsWith(`${row.itemId},`) && csv[i + 1]!.endsWith(`,${line.path}`));
    }

    // The export reads back as an import with the same classes and splits.
    const path = await writeZip(tmp.path, 'export.zip', zip);
    const listing = await readArchiveListing(
      path,
      { maxEntries: 100, maxTotalBytes: 1e8, maxEntryBytes: 1e7, maxCompressionRatio: 100 },
      ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
      { addMissingClasses: false },
    );
    assert.equal(listing.entries.length, rows.length);
    assert.deepEqual(listing.skipped, []);
    const back = new Map(listing.entries.map((e) => [e.path, e]));
    for (const line of jsonl) {
      assert.equal(back.get(line.path)?.className, line.label);
      assert.equal(back.get(line.path)?.split, line.split ?? undefined);
    }
  });

  it('fetches a bounded window ahead and keeps row order when fetches finish out of order', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const sink = new Sink();
    await writeZipExport({
      rows: source(rows),
      prefetch: 4,
      output: sink,
      fetchImage: async (r) => {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await sleep(Number(r.itemId.split('-')[1]) % 5); // later rows often finish first
        inFlight -= 1;
        return images.get(r.itemId)!;
      },
    });
    assert.equal(maxInFlight, 4);
    const order = [...(await unzip(sink.bytes)).keys()].filter((p) => p.endsWith('.png'));
    const expected = (await unzip(sink.bytes)).get('manifest.jsonl')!.bytes.toString().trimEnd().split('\n').map((l) => JSON.parse(l).path);
    assert.deepEqual(order, expected);
  });

  it('waits for a slow output instead of buffering the archive', async () => {
    // 40 × 128 KiB of incompressible bytes (5 MiB) into a sink that takes 1 ms a chunk.
    const big = Array.from({ length: 40 }, () => randomBytes(128 * 1024));
    const bigRows = rows.slice(0, 20).flatMap((r, i) => [
      { ...r, itemId: `a${i}`, fileName: `a${i}.bin` },
      { ...r, itemId: `b${i}`, fileName: `b${i}.bin` },
    ]);
    const sink = new Sink(1);
    await writeZipExport({
      rows: source(bigRows),
      prefetch: 2,
      output: sink,
      fetchImage: async (r) => big[bigRows.indexOf(r)]!,
    });
    assert.ok(sink.bytes.length > 5 * 1024 * 1024);
    assert.ok(sink.maxBuffered < 1024 * 1024, `output buffered ${sink.maxBuffered} bytes`);
  });

  it('rejects, destroys the output and removes its temp files when an image cannot be fetched', async () => {
    const before = exportTempDirs();
    const sink = new Sink();
    sink.on('error', () => undefined);
    await assert.rejects(
      writeZipExport({
        rows: source(rows),
        output: sink,
        fetchImage: async (r) => {
          if (r === rows[5]) throw new Error('blob missing');
          return images.get(r.itemId)!;
        },
      }),
      /blob missing/,
    );
    assert.ok(sink.destroyed);
    assert.equal(exportTempDirs(), before);
  });

  it('rejects when the output fails', async () => {
    const failing = new Writable({
      write(_chunk, _enc, done) {
        done(new Error('disk full'));
      },
    });
    failing.on('error', () => undefined);
    await assert.rejects(
      writeZipExport({ rows: source(rows), output: failing, fetchImage: async (r) => images.get(r.itemId)! }),
      /disk full/,
    );
  });
});
