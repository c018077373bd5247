import { createLogger, createMetricsRegistry, type Registry } from '@labelloop/common';
import { datasetV1 } from '@labelloop/proto';
import { runMigrations, type Database } from '@labelloop/storage';
import {
  createTestDatabase,
  startTestNats,
  startTestS3,
  type TestDatabase,
  type TestNats,
  type TestS3,
} from '@labelloop/testing';
import { createChannel, createClient, type Channel } from 'nice-grpc';
import { startEventRelay, type EventRelay } from '../../src/adapters/event-relay.js';
import type { DatasetConfig } from '../../src/config.js';
import { createDatasetServer, MIGRATIONS_DIR, SCHEMA, type DatasetServer } from '../../src/server.js';

// One real dataset server per test file: PGlite (or a fresh database on DATABASE_URL's
// server), an in-process S3, an own nats-server (or NATS_URL), a real gRPC client.

export type DatasetClient = datasetV1.DatasetServiceClient;

export const TEST_LIMITS: DatasetConfig['limits'] = {
  maxImageBytes: 1024 * 1024,
  maxImagePixels: 4_000_000,
  maxArchiveBytes: 8 * 1024 * 1024,
  maxArchiveEntries: 10_000,
  maxArchiveExpandedBytes: 64 * 1024 * 1024,
  maxCompressionRatio: 100,
};

export interface Harness {
  client: DatasetClient;
  db: Database;
  s3: TestS3;
  nats: TestNats;
  events: EventRelay;
  server: DatasetServer;
  registry: Registry;
  port: number;
  /** Starts a second server on the same database, S3 and NATS (restart and resume tests). */
  startAnotherServer(): Promise<{ client: DatasetClient; server: DatasetServer; close(): Promise<void> }>;
  close(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  const database: TestDatabase = await createTestDatabase();
  const [s3, nats] = await Promise.all([startTestS3(), startTestNats()]);
  const logger = createLogger({ service: 'dataset-test', level: (process.env.TEST_LOG_LEVEL as 'info') ?? 'silent' });
  const db = database.db;
  await runMigrations(db, { schema: SCHEMA, dir: MIGRATIONS_DIR });
  const registry = createMetricsRegistry('dataset');
  const events = await startEventRelay({
    db,
    natsUrl: nats.url,
    stream: nats.streamName,
    subjectPrefix: nats.subjectPrefix,
    logger,
  });

  const start = async (serverRegistry: Registry) => {
    const server = createDatasetServer({
      db,
      blobs: s3.store,
      logger,
      registry: serverRegistry,
      limits: TEST_LIMITS,
      onEventsCommitted: () => events.relay.nudge(),
    });
    const port = await server.grpc.listen('127.0.0.1:0');
    server.grpc.health.setServing(true);
    const channel: Channel = createChannel(`127.0.0.1:${port}`, undefined, {
      'grpc.max_receive_message_length': 16 * 1024 * 1024,
      'grpc.max_send_message_length': 16 * 1024 * 1024,
    });
    const client = createClient(datasetV1.DatasetServiceDefinition, channel);
    const close = async () => {
      channel.close();
      await server.grpc.shutdown(5000);
      await server.imports.stop();
      await server.scoring.stop();
    };
    return { client, server, port, close };
  };

  const main = await start(registry);
  return {
    client: main.client,
    db,
    s3,
    nats,
    events,
    server: main.server,
    registry,
    port: main.port,
    startAnotherServer: () => start(createMetricsRegistry('dataset')),
    async close() {
      await main.close();
      await events.relay.stop();
      // A shared NATS (NATS_URL) keeps streams: remove this run's.
      if (!nats.owned) await (await events.nats.jetstreamManager()).streams.delete(nats.streamName);
      await events.nats.close();
      await Promise.all([nats.close(), s3.close()]);
      await database.close();
    },
  };
}

let counter = 0;

/** A dataset name no other test (or test run on a shared database) uses. */
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}`;
}
