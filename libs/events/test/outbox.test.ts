import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Database } from '@labelloop/storage';
import { createTestDatabase, startTestNats, type TestDatabase, type TestNats } from '@labelloop/testing';
import type { JetStreamManager, NatsConnection } from 'nats';
import { Registry } from 'prom-client';
import {
  connectNats,
  consumeEvents,
  datasetEvents,
  decodeEvent,
  encodeEvent,
  enqueueEvent,
  ensureStream,
  JetStreamPublisher,
  OUTBOX_PENDING,
  OUTBOX_PUBLISH_ERRORS_TOTAL,
  OUTBOX_PUBLISHED_TOTAL,
  OutboxRelay,
  outboxTableSql,
  ProcessedEvents,
  processedEventsTableSql,
  subjectFor,
} from '../src/index.js';
import { itemLabeled, logger, waitFor } from './helpers.js';

let nats: TestNats;
let testDb: TestDatabase;
let db: Database;
let nc: NatsConnection;
let jsm: JetStreamManager;

before(async () => {
  // Our own server even when NATS_URL is set: the drill stops and restarts it.
  [nats, testDb] = await Promise.all([startTestNats({ own: true }), createTestDatabase()]);
  db = testDb.db;
  nc = await connectNats({ url: nats.url, name: 'events-outbox-test', logger });
  jsm = await nc.jetstreamManager();
  await ensureStream(jsm, { name: nats.streamName, subjects: [`${nats.subjectPrefix}.>`] });
});

after(async () => {
  await nc?.close();
  await nats?.close();
  await testDb?.close();
});

/** A schema with the outbox and processed_events tables; its name also scopes the subjects. */
async function setup(schema: string, registry?: Registry) {
  await db.exec(`CREATE SCHEMA ${schema}`);
  await db.exec(outboxTableSql(schema));
  await db.exec(processedEventsTableSql(schema));
  const subjectPrefix = `${nats.subjectPrefix}.${schema}`;
  const relay = new OutboxRelay({
    db,
    schema,
    publisher: new JetStreamPublisher(nc, { timeoutMs: 1000 }),
    subjectPrefix,
    logger,
    pollIntervalMs: 100,
    registry,
  });
  return { relay, subject: subjectFor(subjectPrefix, datasetEvents.itemLabeled) };
}

async function storedOn(subject: string): Promise<number> {
  const info = await jsm.streams.info(nats.streamName, { subjects_filter: subject });
  return info.state.subjects?.[subject] ?? 0;
}

async function metricValue(registry: Registry, name: string, schema: string): Promise<number | undefined> {
  const metric = await registry.getSingleMetric(name)?.get();
  return metric?.values.find((v) => v.labels.schema === schema)?.value;
}

test('enqueueEvent refuses an event without a uuid id', async () => {
  await assert.rejects(
    db.transaction((tx) => enqueueEvent(tx, 'public', datasetEvents.itemLabeled, { ...itemLabeled(0), eventId: '' })),
    /must be a uuid/,
  );
});

test('a committed event is published once; a rolled-back one never', async () => {
  const { relay, subject } = await setup('rollback');
  relay.start();
  try {
    const dropped = itemLabeled(1);
    const kept = itemLabeled(2);
    await assert.rejects(
      db.transaction(async (tx) => {
        await enqueueEvent(tx, 'rollback', datasetEvents.itemLabeled, dropped);
        throw new Error('business rule failed');
      }),
      /business rule failed/,
    );
    await db.transaction((tx) => enqueueEvent(tx, 'rollback', datasetEvents.itemLabeled, kept));
    relay.nudge();
    await relay.flush();

    const { rows } = await db.query<{ id: string; published_at: Date | null; attempts: number }>(
      'SELECT id, published_at, attempts FROM rollback.outbox',
    );
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.id, kept.eventId);
    assert.ok(rows[0]!.published_at instanceof Date);
    assert.equal(rows[0]!.attempts, 1);
    assert.equal(await storedOn(subject), 1);
    const msg = await jsm.streams.getMessage(nats.streamName, { last_by_subj: subject });
    assert.deepEqual(decodeEvent(datasetEvents.itemLabeled, msg.data), kept);
    assert.equal(msg.header.get('Nats-Msg-Id'), kept.eventId);
  } finally {
    await relay.stop();
  }
});

test('ProcessedEvents runs an effect once per consumer and event', async () => {
  await db.exec('CREATE SCHEMA once');
  await db.exec(processedEventsTableSql('once'));
  const processed = new ProcessedEvents('once');
  const id = itemLabeled(0).eventId;
  let runs = 0;
  const effect = async () => void runs++;
  // A rolled-back attempt leaves no marker: the retry still runs.
  await assert.rejects(
    db.transaction(async (tx) => {
      await processed.runOnce(tx, 'a', id, effect);
      throw new Error('effect failed later in the transaction');
    }),
  );
  assert.equal(await db.transaction((tx) => processed.runOnce(tx, 'a', id, effect)), true);
  assert.equal(await db.transaction((tx) => processed.runOnce(tx, 'a', id, effect)), false);
  assert.equal(await db.transaction((tx) => processed.runOnce(tx, 'b', id, effect)), true);
  assert.equal(runs, 3);
});

test('a redelivered event has no second effect with ProcessedEvents', async () => {
  const { relay, subject } = await setup('idem');
  await db.exec('CREATE TABLE idem.labels (item_id text NOT NULL, label text NOT NULL)');
  const processed = new ProcessedEvents('idem');
  const deliveries: number[] = [];
  const consumer = await consumeEvents({
    nc,
    stream: nats.streamName,
    durable: 'idem-labels',
    filterSubject: subject,
    def: datasetEvents.itemLabeled,
    logger,
    retryDelayMs: 100,
    handler: async (event, meta) => {
      deliveries.push(meta.deliveryCount);
      await db.transaction((tx) =>
        processed.runOnce(tx, 'idem-labels', event.eventId, async () => {
          await tx.query('INSERT INTO idem.labels (item_id, label) VALUES ($1, $2)', [event.itemId, event.label]);
        }),
      );
      // The effect committed but the ack is "lost": JetStream delivers the event again.
      if (meta.deliveryCount === 1) throw new Error('ack lost');
    },
  });
  relay.start();
  try {
    const event = itemLabeled(9);
    await db.transaction((tx) => enqueueEvent(tx, 'idem', datasetEvents.itemLabeled, event));
    relay.nudge();
    await waitFor('the redelivery', () => deliveries.length >= 2);
    await waitFor('the ack', async () => (await jsm.consumers.info(nats.streamName, 'idem-labels')).num_ack_pending === 0);
    assert.deepEqual(deliveries, [1, 2]);
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM idem.labels');
    assert.equal(rows[0]!.n, 1);
  } finally {
    await consumer.stop();
    await relay.stop();
  }
});

test('outbox drill: NATS down, 50 events committed, all arrive exactly once after it is back', async () => {
  const registry = new Registry();
  const { relay, subject } = await setup('drill', registry);
  const seen: string[] = [];
  const consumer = await consumeEvents({
    nc,
    stream: nats.streamName,
    durable: 'drill',
    filterSubject: subject,
    def: datasetEvents.itemLabeled,
    logger,
    handler: async (event) => void seen.push(event.eventId),
  });
  relay.start();
  try {
    await nats.stop();
    const ids: string[] = [];
    for (let i = 0; i < 50; i++) {
      const event = itemLabeled(i);
      ids.push(event.eventId);
      await db.transaction((tx) => enqueueEvent(tx, 'drill', datasetEvents.itemLabeled, event));
      relay.nudge();
    }
    // The relay keeps trying while NATS is down, and records why it failed.
    await waitFor('failed attempts', async () => ((await metricValue(registry, OUTBOX_PUBLISH_ERRORS_TOTAL, 'drill')) ?? 0) >= 2);
    const { rows } = await db.query<{ pending: number; tried: number }>(
      `SELECT count(*) FILTER (WHERE published_at IS NULL)::int AS pending,
              count(*) FILTER (WHERE attempts > 0 AND last_error IS NOT NULL)::int AS tried
       FROM drill.outbox`,
    );
    assert.equal(rows[0]!.pending, 50);
    assert.ok(rows[0]!.tried >= 1);

    await nats.start();
    await relay.flush(30_000);
    await waitFor('all 50 events', () => new Set(seen).size === 50, 30_000);
    await waitFor('every ack', async () => {
      const info = await jsm.consumers.info(nats.streamName, 'drill');
      return info.num_ack_pending === 0 && info.num_pending === 0;
    });

    assert.equal(new Set(seen).size, 50);
    assert.equal(seen.length, 50, 'an event was delivered twice');
    assert.deepEqual(seen, ids, 'events left the outbox out of order');
    const info = await jsm.consumers.info(nats.streamName, 'drill');
    assert.equal(info.delivered.consumer_seq, 50);
    assert.equal(await storedOn(subject), 50);
    assert.equal(await metricValue(registry, OUTBOX_PUBLISHED_TOTAL, 'drill'), 50);
    assert.equal(await metricValue(registry, OUTBOX_PENDING, 'drill'), 0);
  } finally {
    await consumer.stop();
    await relay.stop();
  }
});

test('two relays on PostgreSQL share the outbox without publishing a row twice', async (t) => {
  if (db.kind !== 'pg') {
    t.skip('PGlite has one connection: one relay per process (set DATABASE_URL to run this)');
    return;
  }
  await db.exec('CREATE SCHEMA replicas');
  await db.exec(outboxTableSql('replicas'));
  const subjectPrefix = `${nats.subjectPrefix}.replicas`;
  for (let i = 0; i < 40; i++) {
    await db.transaction((tx) => enqueueEvent(tx, 'replicas', datasetEvents.itemLabeled, itemLabeled(i)));
  }
  const relays = [1, 2].map(
    () =>
      new OutboxRelay({ db, schema: 'replicas', publisher: new JetStreamPublisher(nc), subjectPrefix, logger, batchSize: 5 }),
  );
  relays.forEach((r) => r.start());
  try {
    await Promise.all(relays.map((r) => r.flush()));
    const { rows } = await db.query<{ attempts: number; n: number }>(
      'SELECT attempts, count(*)::int AS n FROM replicas.outbox GROUP BY attempts',
    );
    // SKIP LOCKED hands each row to one relay: every row was published in one attempt.
    assert.deepEqual(rows, [{ attempts: 1, n: 40 }]);
    assert.equal(await storedOn(subjectFor(subjectPrefix, datasetEvents.itemLabeled)), 40);
  } finally {
    await Promise.all(relays.map((r) => r.stop()));
  }
});

test('published rows are pruned after the retention', async () => {
  await db.exec('CREATE SCHEMA prune');
  await db.exec(outboxTableSql('prune'));
  const relay = new OutboxRelay({
    db,
    schema: 'prune',
    publisher: new JetStreamPublisher(nc),
    subjectPrefix: `${nats.subjectPrefix}.prune`,
    logger,
    pollIntervalMs: 50,
    retentionMs: 0,
    cleanupIntervalMs: 0,
  });
  for (let i = 0; i < 3; i++) {
    await db.transaction((tx) => enqueueEvent(tx, 'prune', datasetEvents.itemLabeled, itemLabeled(i)));
  }
  relay.start();
  try {
    await relay.flush();
    await waitFor('pruned rows', async () => (await db.query('SELECT 1 FROM prune.outbox')).rows.length === 0);
  } finally {
    await relay.stop();
  }
});

// Keeps encodeEvent's import honest: a payload written by hand decodes the same way.
test('outbox payload bytes are the protobuf encoding', async () => {
  await db.exec('CREATE SCHEMA bytes');
  await db.exec(outboxTableSql('bytes'));
  const event = itemLabeled(3);
  await db.transaction((tx) => enqueueEvent(tx, 'bytes', datasetEvents.itemLabeled, event));
  const { rows } = await db.query<{ subject: string; payload: Uint8Array }>('SELECT subject, payload FROM bytes.outbox');
  assert.equal(rows[0]!.subject, 'item.labeled');
  assert.deepEqual(new Uint8Array(rows[0]!.payload), encodeEvent(datasetEvents.itemLabeled, event));
});
