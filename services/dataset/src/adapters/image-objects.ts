import { contentAddressedKey, type BlobStore } from '@labelloop/storage';
import type { ImageObjects } from '../domain/ingest-item.js';

const CONTENT_TYPES: Record<string, string> = { png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp' };

export function contentTypeOf(format: string): string {
  return CONTENT_TYPES[format] ?? 'application/octet-stream';
}

/** Item images in S3 under datasets/<datasetId>/items/<sha256>. */
export class S3ImageObjects implements ImageObjects {
  constructor(private readonly store: BlobStore) {}

  put(datasetId: string, sha256: string, bytes: Buffer, format: string): Promise<void> {
    return this.store.put(contentAddressedKey(datasetId, sha256), bytes, { contentType: contentTypeOf(format) });
  }

  delete(datasetId: string, sha256: string): Promise<void> {
    return this.store.delete(contentAddressedKey(datasetId, sha256));
  }

  get(datasetId: string, sha256: string): Promise<Buffer> {
    return this.store.getBuffer(contentAddressedKey(datasetId, sha256));
  }
}
