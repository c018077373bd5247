import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Cluster, type ClusterService, describeAccount, expectEvents } from '../src/cluster.js';
import { type Answer, call, createDataset, DIGITS, type Digit, sleep, until, uploadDigits } from '../src/drill-helpers.js';

// Fault drill: SIGTERM to each service in turn — gateway, dataset, trainer (mid-run), inference
// (mid-scoring) — while four labellers keep relabelling items through REST. Each process exits 0
// within its grace period and is started again (as Kubernetes would). In-flight work finishes or is
// handed back: the training run moves to the other trainer and completes, the scoring job completes.
// Nothing is lost: every label answered 2xx is in the item's history, in order; every label answered
// with an error (or no answer) is not; every event is delivered and counted once by the trainer.

let cluster: Cluster | undefined;

before(async () => {
  cluster = await Cluster.start({
    trainers: 2,
    inference: 1,
    env: {
      inference: { SCORING_LEASE: '5s', SCORING_SHARD_SIZE: '16', SCORING_POLL_INTERVAL: '250ms' },
    },
  });
});
after(async () => {
  await cluster?.close();
});

interface Attempt {
  itemId: string;
  label: string;
  answer: Answer;
}

/**
 * A labeller cycling over its items: each PUT sets the class after the one it last saw stored, so
 * every accepted label is a change (one history row) and a refused one would show if it were stored.
 */
function relabeller(c: Cluster, key: string, items: Digit[], paceMs: number) {
  const attempts: Attempt[] = [];
  const believed = new Map<string, string | null>(items.map((i) => [i.id, null]));
  let stopped = false;
  // A bound of its own, should nobody stop it.
  const deadline = Date.now() + 10 * 60_000;
  const done = (async () => {
    for (let k = 0; !stopped && Date.now() < deadline; k++) {
      const item = items[k % items.length]!;
      const current = believed.get(item.id);
      const label = DIGITS[(current === null || current === undefined ? Number(item.label) : DIGITS.indexOf(current) + 1) % DIGITS.length]!;
      const answer = await call(c.gatewayUrl, key, 'PUT', `/v1/items/${item.id}/label`, { label }, 30_000);
      attempts.push({ itemId: item.id, label, answer });
      if (answer.status === 200) believed.set(item.id, label);
      await sleep(paceMs);
    }
  })();
  return { attempts, stop: async () => ((stopped = true), await done) };
}

async function sigterm(c: Cluster, service: ClusterService, t: { diagnostic: (s: string) => void }): Promise<void> {
  const started = Date.now();
  const exit = await service.stop(40_000);
  const stoppedMs = Date.now() - started;
  const steps = service.records('shutdown step done').slice(-12).map((r) => `${r.step} ${r.durationMs}ms`);
  t.diagnostic(`${service.name}: SIGTERM → exit ${exit.code ?? exit.signal} in ${stoppedMs} ms (${steps.join(', ')})`);
  assert.equal(exit.code, 0, `${service.name} exits 0 after SIGTERM:\n${service.tail()}`);
  await service.start();
  await c.waitReady();
}

test('SIGTERM to each service under load: in-flight work finishes or is handed back, nothing lost', { timeout: 300_000 }, async (t) => {
  if (!cluster) return t.skip('no PostgreSQL for the drill (no server binaries, no DATABASE_URL)');
  const c = cluster;
  const datasetId = await createDataset(c.admin, 'sigterm');
  // Scoring must not change labels here (the labellers own them): no auto-labels.
  assert.equal((await c.admin.put(`/v1/datasets/${datasetId}/active-learning`, { autoLabel: false })).status, 200);
  await uploadDigits(c.admin, datasetId, { from: 0, count: 200, labelled: true });
  const pool = await uploadDigits(c.admin, datasetId, { from: 1000, count: 400 });
  const before = await c.delivered((a) => a.events['labelloop.item.ingested'] === 600);
  const counterBefore = await c.count('SELECT coalesce(sum(count), 0) AS n FROM training.human_label_counters');
  t.diagnostic(describeAccount('before', before));

  const keys = await Promise.all(
    [1, 2, 3, 4].map(async (n) => (await c.admin.post('/v1/api-keys', { name: `labeller-${n}`, role: 'labeller' })).body.key as string),
  );
  // Labellers work on 160 pool items (40 each); the other 240 stay in the pool for scoring.
  const labellers = keys.map((key, n) => relabeller(c, key, pool.slice(n * 40, n * 40 + 40), 150));
  // Whatever happens below, the labellers stop with the test.
  t.after(() => Promise.all(labellers.map((l) => l.stop())));

  // 1. The gateway: requests in flight finish; while it is down, requests are refused.
  await sleep(2000);
  await sigterm(c, c.gateway, t);
  // 2. The dataset service: in-flight calls finish; the gateway answers 503 while it is down.
  await sleep(2000);
  await sigterm(c, c.dataset, t);

  // 3. A trainer mid-run: the run is handed back and finishes on the other trainer.
  const started = await c.admin.post(`/v1/datasets/${datasetId}/training-runs`, {
    hyperParameters: { optimizer: 'adam', learningRate: 0.003, epochs: 10, momentum: 0, batchSize: 8 },
  });
  assert.equal(started.status, 202, JSON.stringify(started.body));
  const runId = started.body.id as string;
  const runner = await until(
    'a trainer training the run',
    async () => {
      const run = (await c.admin.get(`/v1/training-runs/${runId}`)).body;
      if (run.progress?.phase !== 'training' || run.progress.batch < 1) return undefined;
      return c.services.find((s) => s.kind === 'trainer' && s.running && s.records('training run started').some((r) => r.runId === runId));
    },
    120_000,
    100,
  );
  await sigterm(c, runner, t);
  assert.ok(runner.records('training run handed back').some((r) => r.runId === runId), `${runner.name} handed the run back`);
  const run = await until(
    'the run to finish',
    async () => {
      const r = (await c.admin.get(`/v1/training-runs/${runId}`)).body;
      return ['succeeded', 'failed', 'cancelled'].includes(r.status) ? r : undefined;
    },
    240_000,
    500,
  );
  t.diagnostic(`run ${run.status} after ${run.attempts} attempts`);
  assert.equal(run.status, 'succeeded', run.failureReason);
  assert.ok(run.attempts >= 2, 'the run was handed back and delivered again');

  // 4. Inference mid-scoring (the new champion's pool scoring): the shard in flight is recorded or
  // left to its lease; after the restart the job completes.
  const inference = c.service('inference-1');
  const jobId = await until(
    'inference scoring a shard',
    async () => {
      const { rows } = await c.database.pool.query<{ job_id: string }>(
        `SELECT s.job_id FROM dataset.scoring_shards s JOIN dataset.scoring_jobs j ON j.id = s.job_id
          WHERE j.dataset_id = $1 AND s.lease_owner = 'inference-1' AND s.done_at IS NULL AND s.lease_expires_at > now()`,
        [datasetId],
      );
      return rows[0]?.job_id;
    },
    120_000,
    20,
  );
  await sigterm(c, inference, t);
  const job = await until(
    'the scoring job to finish',
    async () => {
      const { rows } = await c.database.pool.query<{ status: string; items_total: string; items_scored: string }>(
        'SELECT status, items_total, items_scored FROM dataset.scoring_jobs WHERE id = $1',
        [jobId],
      );
      return rows[0]!.status === 'SUCCEEDED' || rows[0]!.status === 'FAILED' ? rows[0] : undefined;
    },
    120_000,
    250,
  );
  const predictions = await c.count('SELECT count(*) AS n FROM dataset.predictions WHERE job_id = $1', [jobId]);
  t.diagnostic(`scoring job ${job.status}: ${job.items_scored}/${job.items_total} items, ${predictions} predictions`);
  assert.equal(job.status, 'SUCCEEDED');
  assert.equal(Number(job.items_scored), Number(job.items_total));
  assert.equal(predictions, Number(job.items_total));

  await sleep(1000);
  await Promise.all(labellers.map((l) => l.stop()));

  // Every attempt against the stored history: accepted ones are there in order, refused ones are not.
  const attempts = labellers.flatMap((l) => l.attempts);
  const accepted = attempts.filter((a) => a.answer.status === 200);
  const refused = attempts.filter((a) => a.answer.status !== 200);
  const outcomes = new Map<string, number>();
  for (const a of attempts) {
    const key = a.answer.status ? String(a.answer.status) : a.answer.error!;
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
  }
  t.diagnostic(`labels: ${attempts.length} attempts — ${[...outcomes].map(([k, n]) => `${k}: ${n}`).join(', ')}`);
  assert.ok(refused.every((a) => a.answer.status === 0 || a.answer.status === 503), `refusals are 503 or no answer: ${[...outcomes.keys()]}`);
  const { rows } = await c.database.pool.query<{ item_id: string; value: string }>(
    `SELECT h.item_id, h.value FROM dataset.item_labels h WHERE h.item_id = ANY($1::uuid[]) ORDER BY h.item_id, h.version`,
    [pool.slice(0, 160).map((d) => d.id)],
  );
  const history = new Map<string, string[]>();
  for (const row of rows) history.set(row.item_id, [...(history.get(row.item_id) ?? []), row.value]);
  for (const item of pool.slice(0, 160)) {
    const expectedHistory = accepted.filter((a) => a.itemId === item.id).map((a) => a.label);
    assert.deepEqual(history.get(item.id) ?? [], expectedHistory, `item ${item.id}: stored history = the accepted labels, in order`);
  }

  const n = accepted.length;
  const labelledItems = new Set(accepted.map((a) => a.itemId)).size;
  const expected = {
    ...before,
    labels: before.labels + labelledItems,
    labelHistory: before.labelHistory + n,
    models: before.models + 1,
    events: expectEvents(before.events, { 'item.labeled': n, 'model.promoted': 1 }),
  };
  const afterAccount = await c.delivered((a) => (a.events['labelloop.item.labeled'] ?? 0) >= (before.events['labelloop.item.labeled'] ?? 0) + n, 90_000);
  const counter = await until('the retrain-policy counter to catch up', async () => {
    const value = await c.count('SELECT coalesce(sum(count), 0) AS n FROM training.human_label_counters');
    return value >= counterBefore + n ? value : undefined;
  }, 60_000);
  await sleep(2000);
  t.diagnostic(describeAccount('expected', expected));
  t.diagnostic(describeAccount('after', afterAccount));
  t.diagnostic(`retrain-policy counter ${counterBefore} → ${counter}; ledger redeliveries absorbed: ${c.ledger.redelivered().length}`);
  assert.deepEqual(afterAccount, expected);
  assert.equal(await c.count('SELECT coalesce(sum(count), 0) AS n FROM training.human_label_counters'), counterBefore + n, 'each label counted once');
  assert.deepEqual(c.unexpectedExits(), [], 'no process exited unasked');
});
