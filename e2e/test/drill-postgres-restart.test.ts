import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mnistPng } from '@labelloop/testing';
import { filesForm } from '../src/api.js';
import { Cluster, describeAccount, expectEvents } from '../src/cluster.js';
import { type Answer, call, createDataset, type Digit, sleep, storedLabels, uploadDigits } from '../src/drill-helpers.js';

// Fault drill: PostgreSQL restarted (fast shutdown, down a few seconds, started again on the same
// port and data) while labellers label, a reader lists items and an uploader uploads. No request
// hangs: each answers within a bound, 2xx or 503; the services reconnect by themselves (no process
// exits, /readyz recovers); a label refused during the outage is sent again by its labeller, and in
// the end every label is stored once, every event delivered, nothing counted twice.

const DOWN_MS = 5000;
/** No request may take longer than this, outage or not (the pool's connection timeout is 5 s). */
const REQUEST_BOUND_MS = 12_000;
let cluster: Cluster | undefined;

before(async () => {
  cluster = await Cluster.start({ trainers: 1, inference: 0, restartablePostgres: true });
});
after(async () => {
  await cluster?.close();
});

test('PostgreSQL restarted: requests answer 2xx or 503 in bounded time, services reconnect, nothing lost or doubled', { timeout: 300_000 }, async (t) => {
  if (!cluster) return t.skip('no PostgreSQL server binaries here: a restart drill needs a private server (PG_BIN or /usr/lib/postgresql/*/bin)');
  const c = cluster;
  const server = c.database.server!;
  const datasetId = await createDataset(c.admin, 'postgres-restart');
  const digits = await uploadDigits(c.admin, datasetId, { from: 0, count: 120 });
  const before = await c.delivered((a) => a.events['labelloop.item.ingested'] === 120);
  const counterBefore = await c.count('SELECT coalesce(sum(count), 0) AS n FROM training.human_label_counters');
  t.diagnostic(describeAccount('before', before));

  const key = c.admin.key!;
  const answers: Array<Answer & { what: string; at: number }> = [];
  const record = (what: string, answer: Answer) => answers.push({ ...answer, what, at: Date.now() });
  let stop = false;
  // Two labellers: each label is sent again until it is answered 200 (what a client does with a 503).
  const labelled: Digit[] = [];
  const labellerLoop = async (items: Digit[]) => {
    for (const item of items) {
      for (;;) {
        const answer = await call(c.gatewayUrl, key, 'PUT', `/v1/items/${item.id}/label`, { label: item.label }, REQUEST_BOUND_MS + 5000);
        record('label', answer);
        if (answer.status === 200) break;
        if (stop) return; // the test is over (it failed): this label is not counted as labelled
        await sleep(300);
      }
      labelled.push(item);
      if (stop) return;
      await sleep(150);
    }
  };
  const readerLoop = async () => {
    while (!stop) {
      record('list', await call(c.gatewayUrl, key, 'GET', `/v1/datasets/${datasetId}/items?limit=20`, undefined, REQUEST_BOUND_MS + 5000));
      await sleep(200);
    }
  };
  const readiness: Array<{ at: number; status: number }> = [];
  const readyLoop = async () => {
    while (!stop) {
      const answer = await call(c.gatewayUrl, key, 'GET', '/readyz', undefined, REQUEST_BOUND_MS + 5000);
      readiness.push({ at: Date.now(), status: answer.status });
      await sleep(250);
    }
  };
  const loops = [labellerLoop(digits.slice(0, 60)), labellerLoop(digits.slice(60, 120)), readerLoop(), readyLoop()];
  t.after(async () => {
    stop = true;
    await Promise.all(loops);
  });

  await sleep(3000);
  const stopping = Date.now();
  await server.stop();
  const downAt = Date.now();
  // An upload while the database is down: refused, and its objects must not stay behind.
  const files = await Promise.all(Array.from({ length: 10 }, async (_, i) => ({ name: `pg-${i}.png`, bytes: await mnistPng('train', 500 + i) })));
  const uploadStarted = performance.now();
  const upload = await c.admin.post(`/v1/datasets/${datasetId}/items`, filesForm(files));
  const uploadMs = Math.round(performance.now() - uploadStarted);
  await sleep(Math.max(0, DOWN_MS - (Date.now() - downAt)));
  await server.start();
  const upAt = Date.now();
  const readyAgainMs = await c.waitReady(60_000);
  // Labelling goes on for a while after the restart.
  await sleep(4000);
  stop = true;
  await Promise.all(loops);

  const byWhat = (what: string) => answers.filter((a) => a.what === what);
  const statuses = (list: Answer[]) => [...new Set(list.map((a) => a.status || a.error))].join(',');
  const slowest = Math.max(...answers.map((a) => a.ms));
  const duringOutage = answers.filter((a) => a.at >= stopping && a.at <= upAt + 1000);
  const firstReadyAfter = readiness.find((r) => r.at > upAt && r.status === 200);
  t.diagnostic(`PostgreSQL stopped in ${downAt - stopping} ms, down ${upAt - downAt} ms; gateway ready ${readyAgainMs} ms after the start (readyz: ${readiness.map((r) => r.status).join('')})`);
  t.diagnostic(`upload while down: ${upload.status} in ${uploadMs} ms — ${JSON.stringify(upload.body).slice(0, 200)}`);
  t.diagnostic(`labels: ${byWhat('label').length} requests (${statuses(byWhat('label'))}); lists: ${byWhat('list').length} (${statuses(byWhat('list'))}); during the outage: ${duringOutage.length} answers (${statuses(duringOutage)}); slowest ${Math.round(slowest)} ms`);

  assert.equal(upload.status, 503, JSON.stringify(upload.body));
  assert.match(upload.body.detail, /database/);
  for (const a of answers) {
    assert.ok(a.status === 200 || a.status === 503, `${a.what} answered ${a.status || a.error} in ${Math.round(a.ms)} ms: ${JSON.stringify(a.body)?.slice(0, 300)}`);
    assert.ok(a.ms < REQUEST_BOUND_MS, `${a.what} took ${Math.round(a.ms)} ms`);
  }
  assert.ok(duringOutage.some((a) => a.status === 503), 'the outage was seen');
  assert.ok(firstReadyAfter, '/readyz recovered');
  assert.ok(byWhat('label').filter((a) => a.at > upAt + readyAgainMs).every((a) => a.status === 200), 'labels succeed once ready again');

  const stored = await storedLabels(c, labelled.map((d) => d.id));
  for (const d of labelled) assert.equal(stored.get(d.id)?.label, d.label, `item ${d.id} holds its label`);
  const n = labelled.length;
  const expected = {
    ...before,
    labels: before.labels + n,
    labelHistory: before.labelHistory + n,
    events: expectEvents(before.events, { 'item.labeled': n }),
  };
  const afterAccount = await c.delivered((a) => (a.events['labelloop.item.labeled'] ?? 0) >= n, 60_000);
  await sleep(2000);
  const counter = await c.count('SELECT coalesce(sum(count), 0) AS n FROM training.human_label_counters');
  t.diagnostic(describeAccount('expected', expected));
  t.diagnostic(describeAccount('after', afterAccount));
  t.diagnostic(`retrain-policy counter ${counterBefore} → ${counter}; ledger redeliveries absorbed: ${c.ledger.redelivered().length}`);
  assert.deepEqual(afterAccount, expected);
  assert.equal(counter, counterBefore + n, 'each label counted once by the trainer');
  assert.deepEqual(c.unexpectedExits(), [], 'no service exited: they reconnected by themselves');
});
