import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Cluster, describeAccount, expectEvents } from '../src/cluster.js';
import { createDataset, sleep, until, uploadDigits } from '../src/drill-helpers.js';

// Fault drills: processes killed with SIGKILL mid-work.
// 1. A trainer killed mid-run: its work item is redelivered after TRAINER_ACK_WAIT to the second
//    trainer, which resumes from the epoch checkpoint; one run, one model, one promotion.
// 2. An inference replica killed mid-scoring (the model of drill 1 was just promoted): a fresh
//    replica resumes, taking over the dead one's shard once its SCORING_LEASE expires; every item
//    gets exactly one prediction of the version, the job counts each item once, and the labels the
//    finalization gave match the label history and the events.

let cluster: Cluster | undefined;
let datasetId: string;
let runId: string;

before(async () => {
  cluster = await Cluster.start({
    trainers: 1,
    inference: 0,
    env: {
      trainer: { TRAINER_ACK_WAIT: '3s' },
      inference: { SCORING_LEASE: '5s', SCORING_SHARD_SIZE: '16', SCORING_POLL_INTERVAL: '250ms' },
    },
  });
  if (!cluster) return;
  datasetId = await createDataset(cluster.admin, 'kill-drills');
  // 200 labelled digits (train, validation and test splits) and a pool of 400 to score.
  await uploadDigits(cluster.admin, datasetId, { from: 0, count: 200, labelled: true });
  await uploadDigits(cluster.admin, datasetId, { from: 1000, count: 400 });
});
after(async () => {
  await cluster?.close();
});

async function getRun(c: Cluster, id: string): Promise<any> {
  const response = await c.admin.get(`/v1/training-runs/${id}`);
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body;
}

test('a trainer killed with SIGKILL mid-run: the run completes on the other trainer, once', { timeout: 300_000 }, async (t) => {
  if (!cluster) return t.skip('no PostgreSQL for the drill (no server binaries, no DATABASE_URL)');
  const c = cluster;
  const before = await c.delivered((a) => a.events['labelloop.item.ingested'] === 600);
  t.diagnostic(describeAccount('before', before));

  const first = c.service('trainer-1');
  const started = await c.admin.post(`/v1/datasets/${datasetId}/training-runs`, {
    hyperParameters: { optimizer: 'adam', learningRate: 0.003, epochs: 8, momentum: 0, batchSize: 8 },
  });
  assert.equal(started.status, 202, JSON.stringify(started.body));
  runId = started.body.id;
  // trainer-1 is the only trainer when the run is queued, so it is the one running it.
  await until('trainer-1 training the run', async () => (await getRun(c, runId)).progress?.phase === 'training', 120_000, 100);
  const second = await c.add('trainer');
  const checkpoint = `models/${datasetId}/runs/${runId}/checkpoint/latest`;
  await until('an epoch checkpoint', async () => (await c.blobs.head(checkpoint)) !== undefined, 120_000, 50);
  const atKill = await getRun(c, runId);
  assert.equal(atKill.status, 'running', 'killed mid-run');
  const exit = await first.kill();
  t.diagnostic(`trainer-1 killed (${exit.signal}) at epoch ${atKill.progress.epoch}/${atKill.progress.epochs}, attempt ${atKill.attempts}`);

  const done = await until(
    'the run to finish on trainer-2',
    async () => {
      const run = await getRun(c, runId);
      return ['succeeded', 'failed', 'cancelled'].includes(run.status) ? run : undefined;
    },
    180_000,
    500,
  );
  t.diagnostic(`run ${done.status} after ${done.attempts} attempts; model ${done.modelId}`);
  assert.equal(done.status, 'succeeded', done.failureReason);
  assert.equal(done.attempts, 2, 'delivered twice: to trainer-1, then to trainer-2');
  assert.ok(done.modelId);
  assert.ok(second.running && !first.running);

  const models = await c.admin.get(`/v1/datasets/${datasetId}/models`);
  assert.equal(models.body.models.length, 1, 'one model for the one run');
  const expected = { ...before, models: before.models + 1, events: expectEvents(before.events, { 'model.promoted': 1 }) };
  const afterAccount = await c.delivered((a) => (a.events['labelloop.model.promoted'] ?? 0) >= 1);
  await sleep(2000);
  const finalAccount = await c.account();
  t.diagnostic(describeAccount('expected', expected));
  t.diagnostic(describeAccount('after', finalAccount));
  assert.deepEqual(afterAccount, finalAccount);
  assert.deepEqual(finalAccount, expected);
  assert.deepEqual(c.unexpectedExits(), [], 'no other process exited');
});

test('an inference replica killed mid-scoring: a fresh replica resumes after the lease; each item scored once', { timeout: 300_000 }, async (t) => {
  if (!cluster || !runId) return t.skip('needs the model of the trainer drill');
  const c = cluster;
  const before = await c.delivered();
  t.diagnostic(describeAccount('before', before));
  const pool = c.database.pool;

  // A loose error target, so the finalization auto-labels part of the pool and the label history,
  // the labels and the events have something to agree on.
  const settings = await c.admin.put(`/v1/datasets/${datasetId}/active-learning`, { targetError: 0.3, confidence: 0.6 });
  assert.equal(settings.status, 200, JSON.stringify(settings.body));
  // The promotion of drill 1 is waiting on the `inference-scoring` durable: the first replica begins the job.
  const first = await c.add('inference');
  const held = await until(
    'inference-1 holding a shard with some already recorded',
    async () => {
      const { rows } = await pool.query<{ id: string; done: string }>(
        `SELECT s.id, (SELECT count(*) FROM dataset.scoring_shards d WHERE d.job_id = s.job_id AND d.done_at IS NOT NULL) AS done
           FROM dataset.scoring_shards s
          WHERE s.lease_owner = 'inference-1' AND s.done_at IS NULL AND s.lease_expires_at > now()`,
      );
      return rows.find((r) => Number(r.done) >= 2);
    },
    120_000,
    20,
  );
  await first.kill();
  const killedAt = Date.now();
  const job = await pool.query<{ id: string; shards_total: number; shards_done: number; items_total: string }>(
    `SELECT j.id, j.shards_total, j.shards_done, j.items_total FROM dataset.scoring_jobs j JOIN dataset.scoring_shards s ON s.job_id = j.id WHERE s.id = $1`,
    [held.id],
  );
  const jobId = job.rows[0]!.id;
  t.diagnostic(`inference-1 killed holding shard ${held.id}; job ${jobId}: ${job.rows[0]!.shards_done}/${job.rows[0]!.shards_total} shards done`);

  await c.add('inference');
  const finished = await until(
    'the scoring job to finish',
    async () => {
      const { rows } = await pool.query<{ status: string; items_total: string; items_scored: string; shards_total: number; shards_done: number; decision: any }>(
        'SELECT status, items_total, items_scored, shards_total, shards_done, decision FROM dataset.scoring_jobs WHERE id = $1',
        [jobId],
      );
      return rows[0]!.status === 'SUCCEEDED' || rows[0]!.status === 'FAILED' ? rows[0] : undefined;
    },
    180_000,
    250,
  );
  const retaken = await pool.query<{ attempts: number; lease_owner: string; done_at: Date }>(
    'SELECT attempts, lease_owner, done_at FROM dataset.scoring_shards WHERE id = $1',
    [held.id],
  );
  const shard = retaken.rows[0]!;
  t.diagnostic(
    `job ${finished.status}: ${finished.items_scored}/${finished.items_total} items, ${finished.shards_done}/${finished.shards_total} shards; the killed shard: attempts ${shard.attempts}, recorded by ${shard.lease_owner} ${Math.round((shard.done_at.getTime() - killedAt) / 1000)} s after the kill; auto-labelled ${finished.decision?.autoLabelled} (${finished.decision?.reason || 'threshold found'})`,
  );
  assert.equal(finished.status, 'SUCCEEDED');
  assert.equal(Number(finished.items_scored), Number(finished.items_total), 'each item counted once');
  assert.equal(finished.shards_done, finished.shards_total);
  assert.ok(shard.attempts >= 2 && shard.lease_owner === 'inference-2', 'the killed shard was taken over after its lease');

  // One prediction per item of the job, all of this job and version.
  const predictions = await pool.query<{ n: string; items: string; versions: string }>(
    'SELECT count(*) AS n, count(DISTINCT item_id) AS items, count(DISTINCT model_version) AS versions FROM dataset.predictions WHERE job_id = $1',
    [jobId],
  );
  assert.equal(Number(predictions.rows[0]!.n), Number(finished.items_total));
  assert.equal(Number(predictions.rows[0]!.items), Number(finished.items_total));
  // Labels agree with their history: each model label has exactly one history row for its version.
  const modelLabels = await pool.query<{ id: string; rows: string }>(
    `SELECT i.id, (SELECT count(*) FROM dataset.item_labels h WHERE h.item_id = i.id AND h.source = 'model') AS rows
       FROM dataset.items i WHERE i.label_source = 'model'`,
  );
  const autoLabelled = Number(finished.decision?.autoLabelled ?? 0);
  assert.ok(autoLabelled > 0, `the finalization auto-labelled part of the pool (${finished.decision?.reason})`);
  assert.equal(modelLabels.rows.length, autoLabelled);
  assert.ok(modelLabels.rows.every((r) => Number(r.rows) === 1), 'one history row per model label');
  const tasks = await c.count('SELECT count(*) - count(DISTINCT item_id) AS n FROM dataset.review_tasks');
  assert.equal(tasks, 0, 'at most one review task per item');

  const expected = {
    ...before,
    labels: before.labels + autoLabelled,
    labelHistory: before.labelHistory + autoLabelled,
    events: expectEvents(before.events, { 'item.labeled': autoLabelled }),
  };
  const afterAccount = await c.delivered((a) => (a.events['labelloop.item.labeled'] ?? 0) >= (before.events['labelloop.item.labeled'] ?? 0) + autoLabelled);
  t.diagnostic(describeAccount('expected', expected));
  t.diagnostic(describeAccount('after', afterAccount));
  assert.deepEqual(afterAccount, expected);
  assert.deepEqual(c.unexpectedExits(), [], 'no other process exited');
});
