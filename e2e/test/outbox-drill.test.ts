import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { datasetV1 } from '@labelloop/proto';
import { mnistLabel, mnistPng } from '@labelloop/testing';
import { AckPolicy, connect, DeliverPolicy, type NatsConnection } from 'nats';
import { filesForm, waitFor } from '../src/api.js';
import { type RunningSystem, startSystem } from '../src/system.js';

// NATS stopped while labellers keep labelling: every label is accepted, and once NATS is back every
// ItemLabeled event is delivered — once.

let system: RunningSystem;
let nc: NatsConnection | undefined;

before(async () => {
  system = await startSystem();
});
after(async () => {
  await nc?.close().catch(() => {});
  await system?.close();
});

test('labels keep flowing while NATS is down; their events arrive exactly once after it returns', async () => {
  const { admin, labelloop } = system;
  const nats = labelloop.nats;
  assert.ok(nats, 'the system runs its own nats-server');
  const created = await admin.post('/v1/datasets', { name: 'outbox-drill', classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] });
  assert.equal(created.status, 201);
  const datasetId = created.body.id;
  const files = await Promise.all(Array.from({ length: 30 }, async (_, i) => ({ name: `d${i}.png`, bytes: await mnistPng('test', i) })));
  const uploaded = await admin.post(`/v1/datasets/${datasetId}/items`, filesForm(files));
  assert.equal(uploaded.body.created, 30);

  // A durable consumer on the label events, created while NATS is up.
  nc = await connect({ servers: labelloop.natsUrl, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  const jsm = await nc.jetstreamManager();
  await waitFor(async () => (await jsm.streams.info('LABELLOOP').catch(() => undefined)) ?? undefined, 30_000, 'the LABELLOOP stream');
  await jsm.consumers.add('LABELLOOP', {
    durable_name: 'outbox-drill',
    filter_subject: 'labelloop.item.labeled',
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
  });

  await nats.stop();
  for (const [i, item] of uploaded.body.results.entries()) {
    const answer = await admin.put(`/v1/items/${item.item.id}/label`, { label: String(mnistLabel('test', i)) });
    assert.equal(answer.status, 200, `labelling must not need NATS: ${JSON.stringify(answer.body)}`);
  }
  await new Promise((r) => setTimeout(r, 2000));
  await nats.start();

  // JetStream needs a moment after a restart (and the client to reconnect) before its API answers.
  const consumer = await waitFor(
    () => nc!.jetstream().consumers.get('LABELLOOP', 'outbox-drill').catch(() => undefined),
    30_000,
    'the consumer after the restart',
  );
  const seen = new Map<string, number>();
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const batch = await consumer.fetch({ max_messages: 100, expires: 1000 }).catch(() => []);
    for await (const message of batch) {
      const event = datasetV1.ItemLabeled.decode(message.data);
      if (event.datasetId === datasetId) seen.set(event.itemId, (seen.get(event.itemId) ?? 0) + 1);
      message.ack();
    }
    // Keep listening a little after the 30th, so a duplicate would be caught.
    if (seen.size === 30 && Date.now() > deadline - 55_000) break;
  }
  assert.equal(seen.size, 30, 'every label event delivered');
  for (const [itemId, count] of seen) assert.equal(count, 1, `event for ${itemId} delivered ${count} times`);
});
