import { type BlobStore, contentAddressedKey } from '@labelloop/storage';
import type { ItemImages } from '../domain/scoring-loop.js';

/** Item images where the dataset service stores them: datasets/<datasetId>/items/<sha256>. */
export class S3ItemImages implements ItemImages {
  constructor(private readonly store: BlobStore) {}

  get(datasetId: string, sha256: string): Promise<Buffer> {
    return this.store.getBuffer(contentAddressedKey(datasetId, sha256));
  }
}
