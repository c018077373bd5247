import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { Readable } from 'node:stream';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  PutObjectCommand,
  S3Client,
  type BucketLocationConstraint,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { InvalidArgumentError, UnavailableError, type Logger } from '@labelloop/common';
import type { BlobInfo, BlobStore, PutOptions } from './blob-store.js';
import { isS3NotFound, s3Status, toBlobError } from './s3-errors.js';

export interface S3Config {
  /** Custom endpoint (MinIO, s3rver, GCS interop); unset = AWS. */
  endpoint?: string;
  region: string;
  bucket: string;
  /** Both unset = the SDK's default credential chain (IAM role, env, profile). */
  accessKeyId?: string;
  secretAccessKey?: string;
  forcePathStyle: boolean;
}

export interface S3BlobStoreOptions {
  logger?: Logger;
  /** Keys per list request (default 1000, the S3 maximum); small values force pagination in tests. */
  listPageSize?: number;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Where an item's image bytes live: content-addressed, so re-uploading the same bytes is a no-op. */
export function contentAddressedKey(datasetId: string, sha256: string): string {
  if (!datasetId || datasetId.includes('/')) throw new InvalidArgumentError(`invalid dataset id ${JSON.stringify(datasetId)}`);
  if (!SHA256_HEX.test(sha256)) throw new InvalidArgumentError(`invalid sha256 ${JSON.stringify(sha256)}: want 64 lowercase hex digits`);
  return `datasets/${datasetId}/items/${sha256}`;
}

/** BlobStore on any S3-compatible object storage. */
export class S3BlobStore implements BlobStore {
  readonly bucket: string;
  private readonly client: S3Client;
  private readonly secrets: string[];
  private readonly logger: Logger | undefined;
  private readonly listPageSize: number;

  constructor(private readonly config: S3Config, options: S3BlobStoreOptions = {}) {
    this.bucket = config.bucket;
    this.logger = options.logger;
    this.listPageSize = options.listPageSize ?? 1000;
    this.secrets = [config.accessKeyId ?? '', config.secretAccessKey ?? ''];
    const agentOptions = { keepAlive: true, maxSockets: 64 };
    this.client = new S3Client({
      endpoint: config.endpoint,
      region: config.region,
      forcePathStyle: config.forcePathStyle,
      credentials:
        config.accessKeyId && config.secretAccessKey
          ? { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey }
          : undefined,
      // The default flexible checksums send streamed bodies aws-chunked with a trailer, which
      // some S3-compatible servers store verbatim (extra bytes in the object).
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // Bounded retries and a short connect timeout: an unreachable endpoint fails in seconds.
      maxAttempts: 3,
      requestHandler: new NodeHttpHandler({
        httpAgent: new HttpAgent(agentOptions),
        httpsAgent: new HttpsAgent(agentOptions),
        connectionTimeout: 2000,
        socketTimeout: 30_000,
      }),
    });
  }

  async put(key: string, body: Buffer | Uint8Array | Readable, options: PutOptions = {}): Promise<void> {
    try {
      if (body instanceof Readable) {
        // A stream goes up through lib-storage in buffered parts (one PutObject when it fits one
        // part), so the SDK can send a part again when its connection drops; a stream it had
        // half sent could not be ("non-retryable streaming request").
        const upload = new Upload({
          client: this.client,
          params: { Bucket: this.bucket, Key: key, Body: body, ContentType: options.contentType },
          partSize: 5 * 1024 * 1024,
          queueSize: 4,
        });
        await upload.done();
        return;
      }
      await this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: options.contentType, ContentLength: body.byteLength }),
      );
    } catch (err) {
      throw toBlobError(err, `object ${key}`, this.secrets);
    }
  }

  async getStream(key: string): Promise<Readable> {
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return response.Body as Readable;
    } catch (err) {
      throw toBlobError(err, `object ${key}`, this.secrets);
    }
  }

  async getBuffer(key: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of await this.getStream(key)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  async head(key: string): Promise<BlobInfo | undefined> {
    try {
      const response = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { key, size: response.ContentLength ?? 0, contentType: response.ContentType };
    } catch (err) {
      if (isS3NotFound(err)) return undefined;
      throw toBlobError(err, `object ${key}`, this.secrets);
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (err) {
      if (isS3NotFound(err)) return;
      throw toBlobError(err, `object ${key}`, this.secrets);
    }
  }

  async *list(prefix: string): AsyncIterable<BlobInfo> {
    // ListObjects (v1) with Marker, not ListObjectsV2: s3rver builds V2 continuation tokens
    // with DES, which Node 17+ (OpenSSL 3) refuses without --openssl-legacy-provider, so every
    // truncated V2 page is a 500 there. V1 paging works on AWS, MinIO, GCS and s3rver alike.
    let marker: string | undefined;
    for (;;) {
      let page;
      try {
        page = await this.client.send(
          new ListObjectsCommand({ Bucket: this.bucket, Prefix: prefix, Marker: marker, MaxKeys: this.listPageSize }),
        );
      } catch (err) {
        throw toBlobError(err, `bucket ${this.bucket}`, this.secrets);
      }
      const contents = page.Contents ?? [];
      for (const object of contents) {
        if (object.Key !== undefined) yield { key: object.Key, size: object.Size ?? 0 };
      }
      // Without a delimiter S3 may omit NextMarker; the last key returned is the marker then.
      const next = page.NextMarker ?? contents[contents.length - 1]?.Key;
      if (!page.IsTruncated || next === undefined) return;
      marker = next;
    }
  }

  async ensureBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return;
    } catch (err) {
      if (s3Status(err) !== 404) throw toBlobError(err, `bucket ${this.bucket}`, this.secrets);
    }
    try {
      // us-east-1 is the one region that must not be named as a location constraint.
      const location = this.config.region === 'us-east-1' ? undefined : (this.config.region as BucketLocationConstraint);
      await this.client.send(
        new CreateBucketCommand({
          Bucket: this.bucket,
          CreateBucketConfiguration: location ? { LocationConstraint: location } : undefined,
        }),
      );
      this.logger?.info({ bucket: this.bucket }, 'bucket created');
    } catch (err) {
      // Another replica created it first.
      const name = (err as Error).name;
      if (name === 'BucketAlreadyOwnedByYou' || name === 'BucketAlreadyExists') return;
      throw toBlobError(err, `bucket ${this.bucket}`, this.secrets);
    }
  }

  async ping(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      if (s3Status(err) === 404) throw new UnavailableError(`object storage unavailable: bucket ${this.bucket} does not exist`);
      throw toBlobError(err, `bucket ${this.bucket}`, this.secrets);
    }
  }

  async close(): Promise<void> {
    // Closes the keep-alive sockets, which would otherwise keep the process alive.
    this.client.destroy();
  }
}
