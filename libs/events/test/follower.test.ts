import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestNats, type TestNats } from '@labelloop/testing';
import type { datasetV1 } from '@labelloop/proto';
import type { NatsConnection } from 'nats';
import { connectNats, datasetEvents, encodeEvent, ensureStream, followEvents, JetStreamPublisher, subjectFor } from '../src/index.js';
import { itemLabeled, logger, waitFor } from './helpers.js';

let nats: TestNats;
let nc: NatsConnection;
let publisher: JetStreamPublisher;

before(async () => {
  nats = await startTestNats();
  nc = await connectNats({ url: nats.url, name: 'events-follower-test', logger });
  await ensureStream(await nc.jetstreamManager(), { name: nats.streamName, subjects: [`${nats.subjectPrefix}.>`] });
  publisher = new JetStreamPublisher(nc, { timeoutMs: 2000 });
});

after(async () => {
  await nc?.close();
  await nats?.close();
});

test('followEvents: every follower sees every event published after it started, none before; a failing handler does not stop it', async () => {
  const subject = subjectFor(nats.subjectPrefix, datasetEvents.itemLabeled);
  const publish = (event: datasetV1.ItemLabeled) => publisher.publish(subject, encodeEvent(datasetEvents.itemLabeled, event), event.eventId);
  await publish(itemLabeled(0)); // before anyone follows: not delivered
  const seen: string[][] = [[], []];
  const followers = await Promise.all(
    seen.map((into) =>
      followEvents({
        nc,
        stream: nats.streamName,
        filterSubject: subject,
        def: datasetEvents.itemLabeled,
        logger,
        handler: async (event) => {
          into.push(event.itemId);
          if (event.itemId === 'item-1') throw new Error('handler failure');
        },
      }),
    ),
  );
  for (let n = 1; n <= 5; n++) await publish(itemLabeled(n));
  await waitFor('both followers to see 5 events', () => seen.every((s) => s.length >= 5));
  const expected = ['item-1', 'item-2', 'item-3', 'item-4', 'item-5'];
  assert.deepEqual(seen, [expected, expected]);
  await Promise.all(followers.map((f) => f.stop()));
  await publish(itemLabeled(6));
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(seen, [expected, expected], 'nothing after stop');
});
