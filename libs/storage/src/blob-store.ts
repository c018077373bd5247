import type { Readable } from 'node:stream';

// Object storage as labelloop uses it: keys are paths such as
// datasets/<datasetId>/items/<sha256>, models/<datasetId>/<version>/..., exports/...

export interface BlobInfo {
  key: string;
  size: number;
  contentType?: string;
}

export interface PutOptions {
  contentType?: string;
}

export interface BlobStore {
  readonly bucket: string;
  /** Stores exact bytes. A Buffer goes up as one PutObject; a stream as a multipart upload. */
  put(key: string, body: Buffer | Uint8Array | Readable, options?: PutOptions): Promise<void>;
  /** Throws NotFoundError when the key does not exist. */
  getStream(key: string): Promise<Readable>;
  getBuffer(key: string): Promise<Buffer>;
  /** undefined when the key does not exist. */
  head(key: string): Promise<BlobInfo | undefined>;
  /** No error when the key does not exist. */
  delete(key: string): Promise<void>;
  /** Every key under a prefix, following pagination. */
  list(prefix: string): AsyncIterable<BlobInfo>;
  /** Creates the bucket when missing (embedded and test setups). */
  ensureBucket(): Promise<void>;
  /** Cheap reachability probe (HeadBucket); UnavailableError when storage or the bucket is missing. */
  ping(): Promise<void>;
  /** Releases connections (keep-alive sockets would otherwise hold the process open). */
  close(): Promise<void>;
}
