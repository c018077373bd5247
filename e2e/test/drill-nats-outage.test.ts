import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Cluster, describeAccount, expectEvents } from '../src/cluster.js';
import { call, createDataset, labeller, sleep, storedLabels, until, uploadDigits } from '../src/drill-helpers.js';

// Fault drill: NATS stopped for 30 s while four labellers keep labelling through REST. The gateway
// keeps serving (every label answered 200 and read back); once NATS is back every ItemLabeled event
// is delivered, and none has an effect twice: the trainer's retrain-policy counter (idempotent per
// event id) grows by exactly the number of labels.

const OUTAGE_MS = 30_000;
let cluster: Cluster | undefined;

before(async () => {
  cluster = await Cluster.start({ trainers: 1, inference: 1 });
});
after(async () => {
  await cluster?.close();
});

const policyCounter = async (c: Cluster, datasetId: string) =>
  c.count('SELECT coalesce(sum(count), 0) AS n FROM training.human_label_counters WHERE dataset_id = $1', [datasetId]);
const policyProcessed = async (c: Cluster) =>
  c.count(`SELECT count(*) AS n FROM training.processed_events WHERE consumer = 'trainer-retrain-policy'`);

test('NATS down for 30 s: labels keep being served and stored; every event arrives after, none counted twice', { timeout: 300_000 }, async (t) => {
  if (!cluster) return t.skip('no PostgreSQL for the drill (no server binaries, no DATABASE_URL)');
  const c = cluster;
  const datasetId = await createDataset(c.admin, 'nats-outage');
  const digits = await uploadDigits(c.admin, datasetId, { from: 0, count: 400 });
  // Everything so far delivered: the drill starts from a settled account.
  const before = await c.delivered((a) => a.events['labelloop.item.ingested'] === 400);
  const counterBefore = await policyCounter(c, datasetId);
  const processedBefore = await policyProcessed(c);
  t.diagnostic(describeAccount('before', before));

  const keys = await Promise.all(
    [1, 2, 3, 4].map(async (n) => {
      const created = await c.admin.post('/v1/api-keys', { name: `labeller-${n}`, role: 'labeller' });
      assert.equal(created.status, 201);
      return created.body.key as string;
    }),
  );

  await c.nats.stop();
  const outageStarted = Date.now();
  // Each labeller has 100 items; at one label every ~0.4 s they are still labelling when NATS returns.
  const labellers = keys.map((key, n) => labeller(c, key, digits.slice(n * 100, n * 100 + 100), 400));
  t.after(() => Promise.all(labellers.map((l) => l.stop())));
  // While NATS is down the gateway also serves the labels back.
  const reads: number[] = [];
  while (Date.now() - outageStarted < OUTAGE_MS) {
    await sleep(2000);
    const sample = digits[Math.floor(Math.random() * digits.length)]!;
    reads.push((await call(c.gatewayUrl, keys[0]!, 'GET', `/v1/items/${sample.id}`)).status);
  }
  const labelsDuringOutage = labellers.reduce((n, l) => n + l.attempts.length, 0);
  await c.nats.start();
  const outageMs = Date.now() - outageStarted;
  // Labelling goes on after NATS is back, while the outboxes drain.
  await sleep(5000);
  await Promise.all(labellers.map((l) => l.stop()));

  const attempts = labellers.flatMap((l) => l.attempts);
  const failed = attempts.filter((a) => a.answer.status !== 200);
  t.diagnostic(`NATS down ${outageMs} ms; ${labelsDuringOutage} labels answered during the outage, ${attempts.length} in all; reads during the outage: ${reads.join(',')}`);
  assert.deepEqual(failed.map((a) => `${a.answer.status} ${JSON.stringify(a.answer.body)}`), [], 'every label answered 200');
  assert.ok(labelsDuringOutage >= 40, `labellers kept labelling during the outage (${labelsDuringOutage})`);
  assert.ok(reads.every((s) => s === 200), `reads during the outage: ${reads.join(',')}`);

  const stored = await storedLabels(c, attempts.map((a) => a.itemId));
  for (const a of attempts) assert.equal(stored.get(a.itemId)?.label, a.label, `item ${a.itemId} holds its label`);

  const n = attempts.length;
  const expected = {
    ...before,
    labels: before.labels + n,
    labelHistory: before.labelHistory + n,
    events: expectEvents(before.events, { 'item.labeled': n }),
  };
  const afterAccount = await c.delivered((a) => (a.events['labelloop.item.labeled'] ?? 0) >= n,
    90_000,
  );
  // Consumers have caught up: the retrain-policy counter saw each label once.
  const counter = await until('the retrain-policy counter to catch up', async () => {
    const value = await policyCounter(c, datasetId);
    return value >= counterBefore + n ? value : undefined;
  }, 60_000);
  // A little longer: a redelivery arriving late would show as an extra count.
  await sleep(3000);
  const finalAccount = await c.account();
  const finalCounter = await policyCounter(c, datasetId);
  t.diagnostic(describeAccount('expected', expected));
  t.diagnostic(describeAccount('after', finalAccount));
  t.diagnostic(
    `retrain-policy counter ${counterBefore} → ${finalCounter} (processed events ${processedBefore} → ${await policyProcessed(c)}); ledger redeliveries absorbed: ${c.ledger.redelivered().length}`,
  );
  assert.deepEqual(afterAccount, finalAccount, 'nothing changed after settling');
  assert.deepEqual(finalAccount, expected);
  assert.equal(counter, counterBefore + n);
  assert.equal(finalCounter, counterBefore + n, 'each label counted exactly once by the trainer');
  assert.equal(await policyProcessed(c), processedBefore + n);
  assert.deepEqual(c.unexpectedExits(), [], 'no service crashed');
});
