/// <reference path="./s3rver.d.ts" />
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import S3rver from 's3rver';
import { freePort } from './free-port.js';

// The embedded default for object storage: s3rver (the S3 protocol over HTTP, objects in a local
// folder). Only for laptops and tests; production points S3_ENDPOINT at a real S3.

/** s3rver accepts exactly these credentials. */
export const EMBEDDED_S3_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export interface EmbeddedS3Options {
  dir: string;
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** Buckets created at start. */
  buckets?: string[];
}

export interface EmbeddedS3 {
  readonly endpoint: string;
  readonly port: number;
  /** Stops listening (drops open connections); the folder is kept. */
  stop(): Promise<void>;
  /** Listens again on the same port and folder. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startEmbeddedS3(options: EmbeddedS3Options): Promise<EmbeddedS3> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port || (await freePort(host));
  mkdirSync(options.dir, { recursive: true });
  let server: S3rver | undefined;

  const start = async (): Promise<void> => {
    if (server) return;
    const instance = new S3rver({
      address: host,
      port,
      directory: options.dir,
      silent: true,
      configureBuckets: (options.buckets ?? []).map((name) => ({ name })),
    });
    await instance.run();
    server = instance;
  };
  const stop = async (): Promise<void> => {
    const instance = server;
    if (!instance) return;
    server = undefined;
    // Keep-alive sockets from SDK clients would hold close() open; drop them.
    (instance as unknown as { httpServer?: Server }).httpServer?.closeAllConnections();
    await instance.close();
  };

  await start();
  return { endpoint: `http://${host}:${port}`, port, start, stop, close: stop };
}
