import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { trainingV1 } from '@labelloop/proto';
import { startTestNats, type TestNats } from '@labelloop/testing';
import type { JetStreamManager, NatsConnection } from 'nats';
import {
  connectNats,
  consumeWork,
  defineEvent,
  ensureWorkQueueStream,
  WorkQueuePublisher,
  type WorkSubscription,
} from '../src/index.js';
import { logger, waitFor } from './helpers.js';

const requested = defineEvent({ subject: 'training.requested', type: trainingV1.TrainingRequested });

let nats: TestNats;
let nc: NatsConnection;
let jsm: JetStreamManager;
const streams: string[] = [];

before(async () => {
  nats = await startTestNats();
  nc = await connectNats({ url: nats.url, name: 'work-queue-test', logger });
  jsm = await nc.jetstreamManager();
});

after(async () => {
  for (const s of streams) await jsm.streams.delete(s).catch(() => undefined);
  await nc?.close();
  await nats?.close();
});

/** A work stream of its own per test (work-queue streams allow one consumer per subject). */
async function queue(name: string): Promise<{ stream: string; subject: string; publish(n: number): Promise<string[]> }> {
  const stream = `${nats.streamName}_${name}`;
  const subject = `${nats.subjectPrefix}-work-${name}.training.requested`;
  await ensureWorkQueueStream(jsm, { name: stream, subjects: [`${nats.subjectPrefix}-work-${name}.>`] });
  streams.push(stream);
  const publisher = new WorkQueuePublisher(nc);
  return {
    stream,
    subject,
    async publish(n) {
      const ids: string[] = [];
      for (let i = 0; i < n; i++) {
        const item = trainingV1.TrainingRequested.fromPartial({ eventId: randomUUID(), runId: `run-${i}`, datasetId: 'ds' });
        await publisher.publishItem(subject, requested, item);
        ids.push(item.runId);
      }
      return ids;
    },
  };
}

test('the stream is a file-backed work queue, and a repeated msg id is stored once', async () => {
  const q = await queue('cfg');
  const info = await jsm.streams.info(q.stream);
  assert.equal(info.config.retention, 'workqueue');
  assert.equal(info.config.storage, 'file');
  const item = trainingV1.TrainingRequested.fromPartial({ eventId: randomUUID(), runId: 'r' });
  const publisher = new WorkQueuePublisher(nc);
  assert.equal((await publisher.publishItem(q.subject, requested, item)).duplicate, false);
  assert.equal((await publisher.publishItem(q.subject, requested, item)).duplicate, true);
  assert.equal((await jsm.streams.info(q.stream)).state.messages, 1);
});

test('two consumers share the work without duplicates, and acked items leave the stream', async () => {
  const q = await queue('share');
  const seen = new Map<string, string>();
  const duplicates: string[] = [];
  const subs: WorkSubscription[] = [];
  for (const who of ['a', 'b']) {
    subs.push(
      await consumeWork({
        nc, stream: q.stream, durable: 'workers', filterSubject: q.subject, def: requested, logger, concurrency: 2,
        handler: async (item) => {
          if (seen.has(item.runId)) duplicates.push(item.runId);
          seen.set(item.runId, who);
          await new Promise((r) => setTimeout(r, 20));
        },
      }),
    );
  }
  const ids = await q.publish(30);
  await waitFor('all items handled', () => seen.size === ids.length);
  await Promise.all(subs.map((s) => s.stop()));
  assert.deepEqual(duplicates, []);
  const byWorker = [...seen.values()];
  assert.ok(byWorker.includes('a') && byWorker.includes('b'), 'both consumers took work');
  await waitFor('stream empty', async () => (await jsm.streams.info(q.stream)).state.messages === 0);
});

test('an item of a consumer that dies is redelivered to the other after AckWait', async () => {
  const q = await queue('dies');
  const nc2 = await connectNats({ url: nats.url, name: 'dying-worker', logger });
  let firstGot = 0;
  const dying = await consumeWork({
    nc: nc2, stream: q.stream, durable: 'workers', filterSubject: q.subject, def: requested, logger, ackWaitMs: 1500,
    handler: (_item, control) => {
      firstGot++;
      // Finishes only when told to: the connection "dies" with the item first.
      return new Promise((_resolve, reject) => control.signal.addEventListener('abort', () => reject(control.signal.reason)));
    },
  });
  await q.publish(1);
  await waitFor('the first worker took it', () => firstGot === 1);
  const diedAt = Date.now();
  await nc2.close();
  await dying.stop({ handBack: true }); // the nak cannot reach the server any more
  let redelivery: { at: number; count: number } | undefined;
  const survivor = await consumeWork({
    nc, stream: q.stream, durable: 'workers', filterSubject: q.subject, def: requested, logger, ackWaitMs: 1500,
    handler: async (_item, control) => {
      redelivery = { at: Date.now(), count: control.deliveryCount };
    },
  });
  await waitFor('redelivered', () => redelivery !== undefined, 10_000);
  await survivor.stop();
  assert.equal(redelivery!.count, 2);
  assert.ok(redelivery!.at - diedAt < 3000, 'within about one AckWait');
});

test('working() keeps a long item from being redelivered', async () => {
  const q = await queue('long');
  let deliveries = 0;
  const subs = await Promise.all(
    [0, 1].map(() =>
      consumeWork({
        nc, stream: q.stream, durable: 'workers', filterSubject: q.subject, def: requested, logger, ackWaitMs: 1000,
        handler: async () => {
          deliveries++;
          await new Promise((r) => setTimeout(r, 3500)); // 3.5 × AckWait
        },
      }),
    ),
  );
  await q.publish(1);
  await waitFor('done', async () => deliveries > 0 && (await jsm.streams.info(q.stream)).state.messages === 0, 10_000);
  await Promise.all(subs.map((s) => s.stop()));
  assert.equal(deliveries, 1);
});

test('stop({ handBack }) aborts the handler and the item is redelivered at once; a throw naks with delay', async () => {
  const q = await queue('handback');
  let aborted = false;
  let started = 0;
  const first = await consumeWork({
    nc, stream: q.stream, durable: 'workers', filterSubject: q.subject, def: requested, logger, ackWaitMs: 30_000,
    handler: (_item, control) => {
      started++;
      return new Promise((_resolve, reject) => {
        control.signal.addEventListener('abort', () => ((aborted = true), reject(control.signal.reason)));
      });
    },
  });
  await q.publish(1);
  await waitFor('started', () => started === 1);
  await first.stop({ handBack: true });
  assert.ok(aborted);
  const handedBackAt = Date.now();
  const attempts: Array<{ at: number; count: number }> = [];
  const second = await consumeWork({
    nc, stream: q.stream, durable: 'workers', filterSubject: q.subject, def: requested, logger, ackWaitMs: 30_000,
    retryDelayMs: 1000,
    handler: async (_item, control) => {
      attempts.push({ at: Date.now(), count: control.deliveryCount });
      if (attempts.length === 1) throw new Error('transient');
    },
  });
  await waitFor('retried after the failure', () => attempts.length === 2, 10_000);
  await second.stop();
  assert.ok(attempts[0]!.at - handedBackAt < 2000, 'hand-back is redelivered at once, not after AckWait');
  assert.equal(attempts[0]!.count, 2);
  assert.ok(attempts[1]!.at - attempts[0]!.at >= 900, 'a failure naks with a delay');
});
