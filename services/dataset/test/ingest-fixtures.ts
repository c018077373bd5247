import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import yazl from 'yazl';

// ZIP builders for the ingest and export tests: real archives from yazl, plus byte patches
// for what no honest zip tool writes (absolute names, "..", lying sizes, encryption flags).

export interface ZipSpec {
  name: string;
  data?: Buffer;
  /** Unix mode, e.g. 0o120777 for a symlink. */
  mode?: number;
  compress?: boolean;
  directory?: boolean;
}

export function buildZip(specs: readonly ZipSpec[]): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  const mtime = new Date('2024-01-02T03:04:05Z');
  for (const spec of specs) {
    if (spec.directory) zip.addEmptyDirectory(spec.name, { mtime });
    else {
      const options: Partial<yazl.Options> = { mtime, compress: spec.compress ?? true };
      if (spec.mode !== undefined) options.mode = spec.mode;
      zip.addBuffer(spec.data ?? Buffer.from('x'), spec.name, options);
    }
  }
  zip.end();
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c));
    zip.outputStream.on('error', reject);
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

/** Replaces every occurrence of `from` with `to` (same length) in local and central headers. */
export function patchName(zip: Buffer, from: string, to: string): Buffer {
  const a = Buffer.from(from);
  const b = Buffer.from(to);
  if (a.length !== b.length) throw new Error('patchName needs names of equal length');
  const out = Buffer.from(zip);
  let hits = 0;
  for (let i = out.indexOf(a); i !== -1; i = out.indexOf(a, i + 1)) {
    b.copy(out, i);
    hits += 1;
  }
  if (hits === 0) throw new Error(`${from} not found`);
  return out;
}

/** Offsets of each central-directory record, found from the end-of-central-directory record. */
export function centralRecordOffsets(zip: Buffer): number[] {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const count = zip.readUInt16LE(eocd + 10);
  let offset = zip.readUInt32LE(eocd + 16);
  const offsets: number[] = [];
  for (let i = 0; i < count; i++) {
    offsets.push(offset);
    offset += 46 + zip.readUInt16LE(offset + 28) + zip.readUInt16LE(offset + 30) + zip.readUInt16LE(offset + 32);
  }
  return offsets;
}

/** Rewrites fields of the index-th central-directory record. */
export function patchCentral(
  zip: Buffer,
  index: number,
  patch: { flags?: number; uncompressedSize?: number; signature?: number },
): Buffer {
  const out = Buffer.from(zip);
  const at = centralRecordOffsets(out)[index]!;
  if (patch.flags !== undefined) out.writeUInt16LE(patch.flags, at + 8);
  if (patch.uncompressedSize !== undefined) out.writeUInt32LE(patch.uncompressedSize, at + 24);
  if (patch.signature !== undefined) out.writeUInt32LE(patch.signature, at);
  return out;
}

export async function writeZip(dir: string, name: string, zip: Buffer): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, zip);
  return path;
}
