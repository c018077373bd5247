// One real stack per test file: a dataset server in-process (PGlite or DATABASE_URL, an
// in-process S3, its own nats-server or NATS_URL, the outbox relay) and the gateway on
// 127.0.0.1:0 in front of it, sharing the database (each service in its own schema).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGrpcChannel, createLogger, createMetricsRegistry, type Registry } from '@labelloop/common';
import {
  createDatasetServer,
  MIGRATIONS_DIR as DATASET_MIGRATIONS_DIR,
  SCHEMA as DATASET_SCHEMA,
  startEventRelay,
  type DatasetServer,
} from '@labelloop/dataset';
import type { Express } from 'express';
import { runMigrations, type BlobStore, type Database } from '@labelloop/storage';
import { createTestDatabase, startTestNats, startTestS3, type TestNats, type TestS3 } from '@labelloop/testing';
import { createApp, type Limits } from '../../src/app.js';
import { ApiKeyStore } from '../../src/auth/api-key-store.js';
import type { RateLimits } from '../../src/auth/rate-limit.js';
import { ADMIN_KEY_BANNER, seedAdminKey } from '../../src/auth/seed-admin-key.js';
import { DatasetGateway } from '../../src/clients/dataset.gateway.js';
import { InferenceGateway } from '../../src/clients/inference.gateway.js';
import { TrainerGateway } from '../../src/clients/trainer.gateway.js';
import { migrate } from '../../src/database.js';

export const GATEWAY_LIMITS: Limits = {
  maxImageBytes: 64 * 1024,
  maxFilesPerUpload: 8,
  maxArchiveBytes: 4 * 1024 * 1024,
  maxJsonBytes: 16 * 1024,
  uploadConcurrency: 3,
};

export interface Stack {
  app: Express;
  /** http://127.0.0.1:<port> of the gateway. */
  baseUrl: string;
  adminKey: string;
  db: Database;
  /** The S3 bucket the dataset server stores into (to check that nothing was stored). */
  blobs: BlobStore;
  /** host:port of the dataset server's gRPC API (for a trainer started beside it). */
  datasetAddr: string;
  nats: TestNats;
  s3: TestS3;
  registry: Registry;
  /** JSON log lines of the dataset server (debug level). */
  datasetLogs: string[];
  /** How many calls of `method` (e.g. 'UploadItem') the dataset server logged under `requestId`. */
  datasetCalls(method: string, requestId: string): number;
  /** Stops the dataset server (the gateway keeps running). */
  stopDataset(): Promise<void>;
  close(): Promise<void>;
}

export interface StackOptions {
  /** host:port of a trainer server; default an address where nothing listens (trainer down). */
  trainerAddr?: string;
  /** host:port of an inference server; default an address where nothing listens. */
  inferenceAddr?: string;
  sseHeartbeatMs?: number;
  /** Request budgets; default none (unlimited). */
  rateLimits?: RateLimits;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const logLevel = (process.env.TEST_LOG_LEVEL as 'info' | undefined) ?? 'silent';
  const [database, s3, nats] = await Promise.all([createTestDatabase(), startTestS3(), startTestNats()]);
  const { db } = database;
  await runMigrations(db, { schema: DATASET_SCHEMA, dir: DATASET_MIGRATIONS_DIR });
  await migrate(db);

  // The dataset server logs every call at debug: tests read those lines to see the
  // request id arrive over gRPC.
  const datasetLogs: string[] = [];
  const datasetLogger = createLogger({
    service: 'dataset-test',
    level: 'debug',
    destination: { write: (line: string) => void datasetLogs.push(line) },
  });
  const events = await startEventRelay({
    db,
    natsUrl: nats.url,
    stream: nats.streamName,
    subjectPrefix: nats.subjectPrefix,
    logger: datasetLogger,
  });
  const dataset: DatasetServer = createDatasetServer({
    db,
    blobs: s3.store,
    logger: datasetLogger,
    registry: createMetricsRegistry('dataset'),
    limits: {
      maxImageBytes: 1024 * 1024,
      maxImagePixels: 4_000_000,
      maxArchiveBytes: GATEWAY_LIMITS.maxArchiveBytes,
      maxArchiveEntries: 10_000,
      maxArchiveExpandedBytes: 64 * 1024 * 1024,
      maxCompressionRatio: 100,
    },
    onEventsCommitted: () => events.relay.nudge(),
  });
  const datasetPort = await dataset.grpc.listen('127.0.0.1:0');
  dataset.grpc.health.setServing(true);
  let datasetRunning = true;
  const stopDataset = async () => {
    if (!datasetRunning) return;
    datasetRunning = false;
    await dataset.grpc.shutdown(5000);
    await dataset.imports.stop();
  };

  const printed: string[] = [];
  await seedAdminKey(db, { print: (line) => printed.push(line) });
  const adminKey = printed[0]!.slice(ADMIN_KEY_BANNER.length + 1);

  const registry = createMetricsRegistry('gateway');
  const channel = createGrpcChannel(`127.0.0.1:${datasetPort}`, { maxMessageBytes: 2 * 1024 * 1024 });
  // Port 9 (discard) has no gRPC server: calls fail fast with UNAVAILABLE.
  const trainerChannel = createGrpcChannel(options.trainerAddr ?? '127.0.0.1:9');
  const app = createApp({
    dataset: new DatasetGateway(channel, { registry, defaultDeadlineMs: 10_000 }),
    trainer: new TrainerGateway(trainerChannel, { registry, defaultDeadlineMs: 10_000 }),
    inference: new InferenceGateway(createGrpcChannel(options.inferenceAddr ?? '127.0.0.1:9'), { registry, defaultDeadlineMs: 10_000 }),
    sseHeartbeatMs: options.sseHeartbeatMs,
    rateLimits: options.rateLimits,
    apiKeys: new ApiKeyStore(db),
    db,
    registry,
    logger: createLogger({ service: 'gateway-test', level: logLevel }),
    limits: GATEWAY_LIMITS,
  });
  const server: Server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    blobs: s3.store,
    datasetAddr: `127.0.0.1:${datasetPort}`,
    nats,
    s3,
    app,
    baseUrl: `http://127.0.0.1:${port}`,
    adminKey,
    db,
    registry,
    datasetLogs,
    datasetCalls: (method, requestId) =>
      datasetLogs.filter((line) => {
        const entry = JSON.parse(line) as { method?: string; requestId?: string };
        return entry.requestId === requestId && entry.method?.endsWith(`/${method}`) === true;
      }).length,
    stopDataset,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      channel.close();
      trainerChannel.close();
      await stopDataset();
      await events.relay.stop();
      await events.nats.drain();
      await database.close();
      await Promise.all([s3.close(), nats.close()]);
    },
  };
}
