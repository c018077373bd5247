import { crc32 } from 'node:zlib';
import yauzl from 'yauzl';
import { entryName, type FileError } from './archive-entry-checks.js';
import type { ArchiveEntry } from './archive-layout.js';
import { ARCHIVE_OPEN_OPTIONS, type ArchiveListing } from './archive-listing.js';

// Unpacks the entries of a listing one at a time: the next entry is read only when the
// consumer asks for it, so at most one entry's bytes are in memory.

export interface ArchiveEntryResult {
  entry: ArchiveEntry;
  bytes?: Buffer;
  error?: FileError;
}

async function readEntryBytes(zip: yauzl.ZipFile, raw: yauzl.Entry): Promise<Buffer> {
  // validateEntrySizes makes the stream fail as soon as it yields more (or fewer) bytes than
  // declared, and the listing capped the declared size: memory stays bounded.
  const stream = await zip.openReadStreamPromise(raw);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  const bytes = Buffer.concat(chunks);
  // yauzl does not check the CRC; a stored entry with flipped bytes would pass unnoticed.
  if (crc32(bytes) !== raw.crc32) throw new Error('CRC-32 mismatch');
  return bytes;
}

export async function* readArchiveEntries(
  zipPath: string,
  listing: ArchiveListing,
): AsyncIterable<ArchiveEntryResult> {
  const wanted = new Map(listing.entries.map((e) => [e.path, e]));
  const zip = await yauzl.openPromise(zipPath, ARCHIVE_OPEN_OPTIONS);
  try {
    for await (const raw of zip.eachEntry()) {
      const entry = wanted.get(entryName(raw));
      if (!entry) continue;
      wanted.delete(entry.path);
      let bytes: Buffer;
      try {
        bytes = await readEntryBytes(zip, raw);
      } catch (err) {
        const detail = err instanceof Error ? err.message : String(err);
        yield { entry, error: { fileName: entry.path, code: 'corrupt_entry', reason: `the file could not be unpacked (${detail})` } };
        continue;
      }
      yield { entry, bytes };
    }
  } finally {
    zip.close();
  }
  // Only if the file changed since it was listed.
  for (const entry of wanted.values()) {
    yield { entry, error: { fileName: entry.path, code: 'missing_entry', reason: 'the file is no longer in the archive' } };
  }
}
