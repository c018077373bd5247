import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ResourceExhaustedError } from '@labelloop/common';
import type { BlobStore } from '@labelloop/storage';
import type { ArchiveStore, LocalArchive } from '../domain/import-ports.js';

// Import archives on local disk (a temp folder per archive) and their durable copy in S3 under
// imports/<datasetId>/<importId>.zip, from which an import interrupted by a restart resumes.

async function tempArchivePath(): Promise<{ dir: string; path: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'labelloop-import-'));
  return { dir, path: join(dir, 'archive.zip') };
}

function local(dir: string, path: string, size: number): LocalArchive {
  return { path, size, remove: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Writes the chunks to a temp file, refusing (and removing it) once more than `maxBytes`
 * arrived. Back-pressure comes from the file stream: the next chunk is read when it drains.
 */
export async function receiveArchive(chunks: AsyncIterable<Buffer>, maxBytes: number): Promise<LocalArchive> {
  const { dir, path } = await tempArchivePath();
  let size = 0;
  async function* capped() {
    for await (const chunk of chunks) {
      size += chunk.length;
      if (size > maxBytes) {
        throw new ResourceExhaustedError(`the archive is larger than the limit of ${maxBytes} bytes`, { maxBytes });
      }
      yield chunk;
    }
  }
  try {
    await pipeline(capped, createWriteStream(path));
    return local(dir, path, size);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

export function archiveKey(datasetId: string, importId: string): string {
  return `imports/${datasetId}/${importId}.zip`;
}

export class S3ArchiveStore implements ArchiveStore {
  constructor(private readonly store: BlobStore) {}

  receive(chunks: AsyncIterable<Buffer>, maxBytes: number): Promise<LocalArchive> {
    return receiveArchive(chunks, maxBytes);
  }

  keyFor(datasetId: string, importId: string): string {
    return archiveKey(datasetId, importId);
  }

  async upload(key: string, archive: LocalArchive): Promise<void> {
    await this.store.put(key, createReadStream(archive.path), { contentType: 'application/zip' });
  }

  /** Fetches the durable copy into a temp file (throws NotFoundError when it is gone). */
  async download(key: string): Promise<LocalArchive> {
    const { dir, path } = await tempArchivePath();
    try {
      await pipeline(await this.store.getStream(key), createWriteStream(path));
      return local(dir, path, (await stat(path)).size);
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  delete(key: string): Promise<void> {
    return this.store.delete(key);
  }
}
