import assert from 'node:assert/strict';
import { createGrpcChannel, createGrpcClient, createLogger, createMetricsRegistry, type Logger, type Registry } from '@labelloop/common';
import { createDatasetServer, MIGRATIONS_DIR as DATASET_MIGRATIONS, SCHEMA as DATASET_SCHEMA, startEventRelay, type DatasetServer, type EventRelay } from '@labelloop/dataset';
import type { WorkSubscription, EventSubscription } from '@labelloop/events';
import { datasetV1, trainingV1 } from '@labelloop/proto';
import { runMigrations } from '@labelloop/storage';
import { createTestDatabase, mnistCount, mnistLabel, mnistPng, startTestNats, startTestS3, type TestDatabase, type TestNats, type TestS3 } from '@labelloop/testing';
import { createDatasetReader } from '../../src/adapters/dataset-reader.js';
import { startMessaging, startPolicyConsumer, startWorkConsumer, type Messaging } from '../../src/adapters/messaging.js';
import type { RunJob } from '../../src/domain/run-executor.js';
import { createTrainerServer, MIGRATIONS_DIR, SCHEMA, type TrainerServer } from '../../src/server.js';

// Real infrastructure for trainer tests: an in-process dataset service (own PGlite or database),
// in-process S3, nats-server (own or NATS_URL), and trainers started in-process or as processes.

export const CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
export type DatasetClient = ReturnType<typeof createGrpcClient<typeof datasetV1.DatasetServiceDefinition>>;
export type TrainerClient = ReturnType<typeof createGrpcClient<typeof trainingV1.TrainerServiceDefinition>>;

export const logger: Logger = createLogger({ service: 'trainer-test', level: (process.env.TEST_LOG_LEVEL as 'info' | undefined) ?? 'silent' });

export interface Infra {
  nats: TestNats;
  s3: TestS3;
  datasetDb: TestDatabase;
  datasetServer: DatasetServer;
  datasetEvents: EventRelay;
  datasetAddr: string;
  dataset: DatasetClient;
  close(): Promise<void>;
}

export async function startInfra(): Promise<Infra> {
  const [nats, s3, datasetDb] = await Promise.all([startTestNats(), startTestS3(), createTestDatabase()]);
  await runMigrations(datasetDb.db, { schema: DATASET_SCHEMA, dir: DATASET_MIGRATIONS });
  const datasetEvents = await startEventRelay({ db: datasetDb.db, natsUrl: nats.url, stream: nats.streamName, subjectPrefix: nats.subjectPrefix, logger });
  const datasetServer = createDatasetServer({
    db: datasetDb.db,
    blobs: s3.store,
    logger,
    registry: createMetricsRegistry('dataset'),
    limits: { maxImageBytes: 1024 * 1024, maxImagePixels: 4_000_000, maxArchiveBytes: 1024 * 1024, maxArchiveEntries: 100, maxArchiveExpandedBytes: 1024 * 1024, maxCompressionRatio: 100 },
    onEventsCommitted: () => datasetEvents.relay.nudge(),
  });
  const port = await datasetServer.grpc.listen('127.0.0.1:0');
  const channel = createGrpcChannel(`127.0.0.1:${port}`);
  return {
    nats, s3, datasetDb, datasetServer, datasetEvents,
    datasetAddr: `127.0.0.1:${port}`,
    dataset: createGrpcClient(datasetV1.DatasetServiceDefinition, channel),
    async close() {
      channel.close();
      await datasetServer.grpc.shutdown(5000);
      await datasetServer.imports.stop();
      await datasetEvents.relay.stop();
      await datasetEvents.nats.close();
      await datasetDb.close();
      await s3.close();
      await nats.close();
    },
  };
}

let nextMnist = 0;

export async function createDigits(infra: Infra): Promise<string> {
  const { dataset } = await infra.dataset.createDataset({ name: `digits-${Date.now()}-${Math.random()}`, classes: CLASSES, image: { width: 28, height: 28, channels: 1 } });
  return dataset!.id;
}

/** Uploads `perClass` new MNIST digits of every class with human labels. */
export async function uploadLabelled(infra: Infra, datasetId: string, perClass: number): Promise<void> {
  const wanted = new Map(CLASSES.map((c) => [Number(c), perClass]));
  const picked: number[] = [];
  for (; picked.length < perClass * CLASSES.length && nextMnist < mnistCount('train'); nextMnist++) {
    const left = wanted.get(mnistLabel('train', nextMnist))!;
    if (left > 0) (wanted.set(mnistLabel('train', nextMnist), left - 1), picked.push(nextMnist));
  }
  const files = await Promise.all(picked.map(async (i) => ({ i, png: await mnistPng('train', i) })));
  async function* messages(): AsyncIterable<datasetV1.UploadItemsRequest> {
    for (const { i, png } of files) yield { datasetId, fileName: `d${i}.png`, content: png, label: String(mnistLabel('train', i)), actor: 'tester' };
  }
  const { results } = await infra.dataset.uploadItems(messages());
  for (const r of results) assert.equal(r.outcome, datasetV1.UploadOutcome.UPLOAD_OUTCOME_CREATED, JSON.stringify(r.error));
}

export interface InProcessTrainer {
  server: TrainerServer;
  client: TrainerClient;
  messaging: Messaging;
  work: WorkSubscription;
  policy: EventSubscription;
  registry: Registry;
  db: TestDatabase;
  close(): Promise<void>;
}

/** A trainer in this process, on its own database. */
export async function startTrainer(infra: Infra, options: { ackWaitMs?: number; runJob?: RunJob } = {}): Promise<InProcessTrainer> {
  const db = await createTestDatabase();
  await runMigrations(db.db, { schema: SCHEMA, dir: MIGRATIONS_DIR });
  const registry = createMetricsRegistry('trainer');
  const datasetChannel = createGrpcChannel(infra.datasetAddr);
  const messaging = await startMessaging({ db: db.db, natsUrl: infra.nats.url, stream: infra.nats.streamName, subjectPrefix: infra.nats.subjectPrefix, logger, registry });
  const server = createTrainerServer({
    db: db.db, blobs: infra.s3.store, dataset: createDatasetReader(datasetChannel), logger, registry, workers: 1, maxDeliver: 5, runJob: options.runJob,
    onEventsCommitted: () => messaging.events.nudge(),
    onWorkCommitted: () => messaging.work.nudge(),
  });
  const port = await server.grpc.listen('127.0.0.1:0');
  const work = await startWorkConsumer(messaging, server.executor, { logger, concurrency: 1, ackWaitMs: options.ackWaitMs ?? 30_000, maxDeliver: 5 });
  const policy = await startPolicyConsumer(messaging, server.service, { stream: infra.nats.streamName, subjectPrefix: infra.nats.subjectPrefix, logger });
  const channel = createGrpcChannel(`127.0.0.1:${port}`);
  return {
    server, messaging, work, policy, registry, db,
    client: createGrpcClient(trainingV1.TrainerServiceDefinition, channel),
    async close() {
      channel.close();
      await work.stop({ handBack: true });
      await policy.stop();
      await server.grpc.shutdown(5000);
      await messaging.events.stop();
      await messaging.work.stop();
      await messaging.nats.close();
      datasetChannel.close();
      await db.close();
    },
  };
}

/** Polls until `check` returns a value. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
