import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { startTestNats, type TestNats } from '@labelloop/testing';
import type { JetStreamManager, NatsConnection } from 'nats';
import {
  connectNats,
  consumeEvents,
  datasetEvents,
  encodeEvent,
  ensureStream,
  JetStreamPublisher,
  subjectFor,
  type EventMeta,
} from '../src/index.js';
import { deferred, itemLabeled, logger, waitFor } from './helpers.js';
import type { datasetV1 } from '@labelloop/proto';

let nats: TestNats;
let nc: NatsConnection;
let jsm: JetStreamManager;
let publisher: JetStreamPublisher;

before(async () => {
  nats = await startTestNats();
  nc = await connectNats({ url: nats.url, name: 'events-jetstream-test', logger });
  jsm = await nc.jetstreamManager();
  await ensureStream(jsm, { name: nats.streamName, subjects: [`${nats.subjectPrefix}.>`] });
  publisher = new JetStreamPublisher(nc, { timeoutMs: 2000 });
});

/** Each test publishes under its own prefix, so its consumer sees only its own events. */
function subjectOf(testName: string): string {
  return subjectFor(`${nats.subjectPrefix}.${testName}`, datasetEvents.itemLabeled);
}

after(async () => {
  await jsm?.streams.delete(nats.streamName).catch(() => undefined);
  await nc?.close();
  await nats?.close();
});

async function publishEvent(to: string, event: datasetV1.ItemLabeled) {
  return publisher.publish(to, encodeEvent(datasetEvents.itemLabeled, event), event.eventId);
}

function collect(subject: string, durable: string, handler?: (e: datasetV1.ItemLabeled, meta: EventMeta) => Promise<void>) {
  const seen: Array<{ event: datasetV1.ItemLabeled; meta: EventMeta }> = [];
  const sub = consumeEvents({
    nc,
    stream: nats.streamName,
    durable,
    filterSubject: subject,
    def: datasetEvents.itemLabeled,
    logger,
    retryDelayMs: 100,
    handler: async (event, meta) => {
      seen.push({ event, meta });
      await handler?.(event, meta);
    },
  });
  return { seen, sub };
}

test('ensureStream is idempotent and sets the dedupe window', async () => {
  const again = await ensureStream(jsm, { name: nats.streamName, subjects: [`${nats.subjectPrefix}.>`] });
  assert.equal(again.config.duplicate_window, 120_000_000_000);
  assert.equal(again.config.storage, 'file');
});

test('a published event reaches a durable consumer decoded', async () => {
  const subject = subjectOf('roundtrip');
  const { seen, sub } = collect(subject, 'roundtrip');
  const consumer = await sub;
  const event = itemLabeled(1);
  const ack = await publishEvent(subject, event);
  assert.equal(ack.stream, nats.streamName);
  assert.equal(ack.duplicate, false);
  await waitFor('the event', () => seen.some((s) => s.event.eventId === event.eventId));
  const got = seen.find((s) => s.event.eventId === event.eventId)!;
  assert.deepEqual(got.event, event);
  assert.equal(got.meta.msgId, event.eventId);
  assert.equal(got.meta.deliveryCount, 1);
  await consumer.stop();
});

test('a second publish with the same msg id is dropped by the server', async () => {
  const subject = subjectOf('dedupe');
  const event = itemLabeled(2);
  const before = (await jsm.streams.info(nats.streamName)).state.messages;
  const first = await publishEvent(subject, event);
  const second = await publishEvent(subject, event);
  assert.equal(first.duplicate, false);
  assert.equal(second.duplicate, true);
  assert.equal(second.seq, first.seq);
  assert.equal((await jsm.streams.info(nats.streamName)).state.messages, before + 1);
});

test('a failing handler gets the event again', async () => {
  const subject = subjectOf('retry');
  const durable = 'retry';
  const event = itemLabeled(3);
  const { seen, sub } = collect(subject, durable, async (e, meta) => {
    if (e.eventId === event.eventId && meta.deliveryCount < 3) throw new Error('transient failure');
  });
  const consumer = await sub;
  await publishEvent(subject, event);
  await waitFor('three deliveries', () => seen.filter((s) => s.event.eventId === event.eventId).length >= 3);
  assert.deepEqual(
    seen.filter((s) => s.event.eventId === event.eventId).map((s) => s.meta.deliveryCount),
    [1, 2, 3],
  );
  await waitFor('the ack', async () => (await jsm.consumers.info(nats.streamName, durable)).num_ack_pending === 0);
  await consumer.stop();
});

test('an undecodable message is terminated, not redelivered', async () => {
  const subject = subjectOf('poison');
  const durable = 'poison';
  const { seen, sub } = collect(subject, durable);
  const consumer = await sub;
  // Field 1 claims 32 bytes but only one follows: protobuf decoding throws.
  await publisher.publish(subject, Uint8Array.of(0x0a, 0x20, 0x41), randomUUID());
  const good = itemLabeled(4);
  await publishEvent(subject, good);
  await waitFor('the good event', () => seen.some((s) => s.event.eventId === good.eventId));
  await waitFor('nothing pending', async () => {
    const info = await jsm.consumers.info(nats.streamName, durable);
    return info.num_ack_pending === 0 && info.num_pending === 0;
  });
  const info = await jsm.consumers.info(nats.streamName, durable);
  assert.equal(info.num_redelivered, 0);
  assert.equal(info.delivered.consumer_seq, 2);
  assert.deepEqual(seen.map((s) => s.event.eventId), [good.eventId]);
  await consumer.stop();
});

test('stop() waits for the handler in flight, which still acks', async () => {
  const subject = subjectOf('stop');
  const durable = 'stop';
  const release = deferred();
  const entered = deferred();
  const event = itemLabeled(5);
  const { sub } = collect(subject, durable, async () => {
    entered.resolve();
    await release.promise;
  });
  const consumer = await sub;
  await publishEvent(subject, event);
  await entered.promise;
  let stopped = false;
  const stopping = consumer.stop().then(() => (stopped = true));
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(stopped, false, 'stop() returned while the handler was still running');
  release.resolve();
  await stopping;
  const info = await jsm.consumers.info(nats.streamName, durable);
  assert.equal(info.num_ack_pending, 0);
  assert.equal(info.num_pending, 0);
});
