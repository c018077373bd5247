import { EMBEDDED_S3_CREDENTIALS, startEmbeddedS3 } from '@labelloop/embedded';
import { type BlobStore, S3BlobStore, type S3Config } from '@labelloop/storage';
import { makeTempDir, uniqueSuffix } from './temp-dir.js';

export interface TestS3 {
  readonly config: S3Config;
  readonly store: BlobStore;
  readonly owned: boolean;
  /** Makes S3 unreachable (own server only). */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/**
 * S3 over HTTP for a test: S3_ENDPOINT (+ S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY) with a fresh bucket
 * when set, else an in-process s3rver on a free port in a temp folder.
 */
export async function startTestS3(options: { own?: boolean } = {}): Promise<TestS3> {
  const bucket = `test-${uniqueSuffix()}`;
  const endpoint = process.env.S3_ENDPOINT;
  if (endpoint && !options.own) {
    const config: S3Config = {
      endpoint,
      region: process.env.S3_REGION ?? 'us-east-1',
      bucket,
      accessKeyId: process.env.S3_ACCESS_KEY_ID,
      secretAccessKey: process.env.S3_SECRET_ACCESS_KEY,
      forcePathStyle: true,
    };
    const store = new S3BlobStore(config);
    await store.ensureBucket();
    const refuse = async () => {
      throw new Error('this test S3 is shared (S3_ENDPOINT); ask startTestS3({ own: true }) to stop it');
    };
    return { config, store, owned: false, stop: refuse, start: refuse, close: () => store.close() };
  }
  const dir = makeTempDir('s3');
  const server = await startEmbeddedS3({ dir: dir.path, buckets: [bucket] });
  const config: S3Config = {
    endpoint: server.endpoint,
    region: 'us-east-1',
    bucket,
    ...EMBEDDED_S3_CREDENTIALS,
    forcePathStyle: true,
  };
  const store = new S3BlobStore(config);
  return {
    config,
    store,
    owned: true,
    stop: () => server.stop(),
    start: () => server.start(),
    close: async () => {
      await store.close();
      await server.close();
      dir.remove();
    },
  };
}
