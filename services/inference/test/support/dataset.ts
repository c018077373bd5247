import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createGrpcChannel, createGrpcClient, createMetricsRegistry } from '@labelloop/common';
import { createDatasetServer, MIGRATIONS_DIR, SCHEMA, startEventRelay, type DatasetServer, type EventRelay } from '@labelloop/dataset';
import { connectNats, encodeEvent, JetStreamPublisher, subjectFor } from '@labelloop/events';
import { datasetV1 } from '@labelloop/proto';
import { runMigrations } from '@labelloop/storage';
import { createTestDatabase, mnistLabel, mnistPng, startTestNats, startTestS3, type TestDatabase, type TestNats, type TestS3 } from '@labelloop/testing';
import type { NatsConnection } from 'nats';
import { modelPromoted } from '../../src/adapters/messaging.js';
import type { DatasetClient } from '../../src/adapters/dataset-scoring.js';
import type { ModelRef } from '../../src/domain/types.js';
import { logger } from './harness.js';
import { CLASSES } from './model.js';

// The real dataset service in this process (own PGlite, or a fresh database on DATABASE_URL's
// server), in-process S3 and a nats-server: what pool scoring talks to.

export interface DatasetInfra {
  s3: TestS3;
  nats: TestNats;
  db: TestDatabase;
  server: DatasetServer;
  relay: EventRelay;
  client: DatasetClient;
  /** host:port of the dataset service's gRPC server. */
  datasetAddr: string;
  /** A NATS connection for publishing as the trainer would. */
  nc: NatsConnection;
  publishPromoted(ref: ModelRef): Promise<void>;
  close(): Promise<void>;
}

export async function startDatasetInfra(): Promise<DatasetInfra> {
  const [nats, s3, db] = await Promise.all([startTestNats(), startTestS3(), createTestDatabase()]);
  await runMigrations(db.db, { schema: SCHEMA, dir: MIGRATIONS_DIR });
  const relay = await startEventRelay({ db: db.db, natsUrl: nats.url, stream: nats.streamName, subjectPrefix: nats.subjectPrefix, logger });
  const server = createDatasetServer({
    db: db.db,
    blobs: s3.store,
    logger,
    registry: createMetricsRegistry('dataset'),
    limits: { maxImageBytes: 1024 * 1024, maxImagePixels: 4_000_000, maxArchiveBytes: 1024 * 1024, maxArchiveEntries: 100, maxArchiveExpandedBytes: 1024 * 1024, maxCompressionRatio: 100 },
    onEventsCommitted: () => relay.relay.nudge(),
  });
  const port = await server.grpc.listen('127.0.0.1:0');
  server.grpc.health.setServing(true);
  const channel = createGrpcChannel(`127.0.0.1:${port}`, { maxMessageBytes: 64 * 1024 * 1024 });
  const nc = await connectNats({ url: nats.url, name: 'inference-test-publisher', logger });
  const publisher = new JetStreamPublisher(nc);
  return {
    s3,
    nats,
    db,
    server,
    relay,
    nc,
    datasetAddr: `127.0.0.1:${port}`,
    client: createGrpcClient(datasetV1.DatasetServiceDefinition, channel),
    async publishPromoted(ref) {
      const eventId = randomUUID();
      const event = { eventId, occurredAt: new Date(), ...ref, previousModelId: '', decidedBy: 'auto' };
      await publisher.publish(subjectFor(nats.subjectPrefix, modelPromoted), encodeEvent(modelPromoted, event), eventId);
    },
    async close() {
      channel.close();
      await nc.close();
      await server.grpc.shutdown(5000);
      await server.imports.stop();
      await server.scoring.stop();
      await relay.relay.stop();
      await relay.nats.close();
      await db.close();
      await s3.close();
      await nats.close();
    },
  };
}

export interface UploadedDigits {
  datasetId: string;
  /** MNIST training index per item id. */
  mnistIndex: Map<string, number>;
  labelled: number;
  unlabelled: number;
}

/**
 * A 10-class digits dataset: `labelled` MNIST training digits from `from` with human labels (they
 * spread over train/validation/test) and `unlabelled` more without (the pool).
 */
export async function uploadDigits(client: DatasetClient, options: { from: number; labelled: number; unlabelled: number }): Promise<UploadedDigits> {
  const { dataset } = await client.createDataset({ name: `digits-${randomUUID()}`, classes: CLASSES, image: { width: 28, height: 28, channels: 1 } });
  const datasetId = dataset!.id;
  const total = options.labelled + options.unlabelled;
  const files = await Promise.all(
    Array.from({ length: total }, async (_, j) => {
      const i = options.from + j;
      return { i, png: await mnistPng('train', i), label: j < options.labelled ? String(mnistLabel('train', i)) : '' };
    }),
  );
  async function* messages(): AsyncIterable<datasetV1.UploadItemsRequest> {
    for (const f of files) yield { datasetId, fileName: `d${f.i}.png`, content: f.png, label: f.label, actor: 'tester' };
  }
  const { results } = await client.uploadItems(messages());
  const mnistIndex = new Map<string, number>();
  for (const [j, r] of results.entries()) {
    assert.equal(r.outcome, datasetV1.UploadOutcome.UPLOAD_OUTCOME_CREATED, JSON.stringify(r.error));
    mnistIndex.set(r.item!.id, files[j]!.i);
  }
  return { datasetId, mnistIndex, labelled: options.labelled, unlabelled: options.unlabelled };
}
