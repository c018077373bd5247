// Runs end to end through the trainer's gRPC API: lifecycle, promotion rule, manual promote and
// rollback, cancellation, retrain policy. Real dataset service, NATS, S3, PGlite/PostgreSQL and
// real (tiny) training with libs/ml.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { subjectFor } from '@labelloop/events';
import { trainingV1 } from '@labelloop/proto';
import { connect, type NatsConnection } from 'nats';
import { trainerEvents } from '../src/adapters/trainer-events.js';
import { runTrainingJob } from '../src/domain/job/run-training-job.js';
import type { RunJob } from '../src/domain/run-executor.js';
import { createDigits, eventually, startInfra, startTrainer, uploadLabelled, type Infra, type InProcessTrainer } from './support/harness.js';

const { RunStatus, ModelStatus, OptimizerName } = trainingV1;
let infra: Infra;
let trainer: InProcessTrainer;
let datasetId: string;
let nc: NatsConnection;
const promoted: trainingV1.ModelPromoted[] = [];

const quick = (extra: Partial<trainingV1.HyperParameters> = {}): trainingV1.HyperParameters => ({
  optimizer: OptimizerName.OPTIMIZER_NAME_ADAM, learningRate: 0.003, epochs: 2, momentum: 0, batchSize: 16, ...extra,
});

// The real job, observed: how many training batches it reports after its signal was aborted.
let batchesAfterAbort = 0;
const observedJob: RunJob = (deps, input, hooks) =>
  runTrainingJob(deps, input, {
    ...hooks,
    onProgress: (p) => {
      if (hooks.signal.aborted && p.phase === 'training' && p.batch > 0) batchesAfterAbort++;
      hooks.onProgress(p);
    },
  });

before(async () => {
  infra = await startInfra();
  trainer = await startTrainer(infra, { runJob: observedJob });
  datasetId = await createDigits(infra);
  await uploadLabelled(infra, datasetId, 8);
  nc = await connect({ servers: infra.nats.url });
  const sub = nc.subscribe(subjectFor(infra.nats.subjectPrefix, trainerEvents.modelPromoted));
  void (async () => {
    for await (const m of sub) promoted.push(trainerEvents.modelPromoted.type.decode(m.data));
  })();
});

after(async () => {
  await nc?.close();
  await trainer?.close();
  await infra?.close();
});

async function finished(runId: string): Promise<trainingV1.TrainingRun> {
  return eventually(`run ${runId} to end`, async () => {
    const { run } = await trainer.client.getTrainingRun({ runId });
    return [RunStatus.RUN_STATUS_SUCCEEDED, RunStatus.RUN_STATUS_FAILED, RunStatus.RUN_STATUS_CANCELLED].includes(run!.status) ? run : undefined;
  }, 120_000);
}

let first: trainingV1.Model;

test('a run goes QUEUED → RUNNING → SUCCEEDED, watched to the end, and the first model becomes champion', async () => {
  const { run } = await trainer.client.startTrainingRun({ datasetId, hyperParameters: quick(), trigger: trainingV1.RunTrigger.RUN_TRIGGER_API, requestedBy: 'tester' });
  assert.equal(run!.status, RunStatus.RUN_STATUS_QUEUED);
  const seen: trainingV1.TrainingRun[] = [];
  for await (const { run: r } of trainer.client.watchTrainingRun({ runId: run!.id })) seen.push(r!);
  const statuses = [...new Set(seen.map((r) => r.status))];
  assert.deepEqual(statuses.slice(-1), [RunStatus.RUN_STATUS_SUCCEEDED]);
  assert.ok(statuses.includes(RunStatus.RUN_STATUS_RUNNING), 'watched it running');
  assert.ok(seen.some((r) => r.progress!.phase === 'training' && r.progress!.epoch >= 1), 'progress with epochs');
  const done = seen[seen.length - 1]!;
  assert.equal(done.attempts, 1);
  assert.ok(done.modelId);
  const { model } = await trainer.client.getModel({ modelId: done.modelId });
  first = model!;
  assert.equal(first.version, 1);
  assert.equal(first.status, ModelStatus.MODEL_STATUS_CHAMPION);
  assert.match(first.promotionDecision, /^promoted: first model/);
  assert.equal(first.metrics.length, 2);
  assert.ok(first.artifactPrefix.includes(`models/${datasetId}/1`));
  await eventually('model.promoted event', async () => promoted.find((e) => e.modelId === first.id && e.decidedBy === 'auto'));
  const metrics = await trainer.registry.metrics();
  assert.match(metrics, new RegExp(`labelloop_champion_version\\{[^}]*dataset_id="${datasetId}"[^}]*\\} 1\n`));
  assert.match(metrics, /labelloop_training_runs_total\{[^}]*outcome="succeeded"[^}]*\} 1\n/);
});

let worse: trainingV1.Model;

test('a worse model is not promoted, and its decision says why', async () => {
  const { run } = await trainer.client.startTrainingRun({
    datasetId,
    hyperParameters: quick({ optimizer: OptimizerName.OPTIMIZER_NAME_SGD, learningRate: 1e-6, epochs: 1 }),
    trigger: trainingV1.RunTrigger.RUN_TRIGGER_API,
  });
  const done = await finished(run!.id);
  assert.equal(done.status, RunStatus.RUN_STATUS_SUCCEEDED, done.failureReason);
  worse = (await trainer.client.getModel({ modelId: done.modelId })).model!;
  assert.equal(worse.version, 2);
  assert.equal(worse.status, ModelStatus.MODEL_STATUS_CANDIDATE);
  assert.match(worse.promotionDecision, /^not promoted: (test macro-F1 .* below champion v1|recall of class)/);
  const { models } = await trainer.client.listModels({ datasetId });
  assert.deepEqual(models.map((m) => [m.version, m.status]), [[2, ModelStatus.MODEL_STATUS_CANDIDATE], [1, ModelStatus.MODEL_STATUS_CHAMPION]]);
});

test('an admin promotes the candidate by hand and rolls back', async () => {
  const { model } = await trainer.client.promoteModel({ modelId: worse.id, actor: 'alice' });
  assert.equal(model!.status, ModelStatus.MODEL_STATUS_CHAMPION);
  assert.equal((await trainer.client.getModel({ modelId: first.id })).model!.status, ModelStatus.MODEL_STATUS_RETIRED);
  await eventually('manual model.promoted', async () => promoted.find((e) => e.modelId === worse.id && e.decidedBy === 'alice' && e.previousModelId === first.id));
  const { model: back } = await trainer.client.rollbackModel({ datasetId, actor: 'bob' });
  assert.equal(back!.id, first.id);
  assert.equal(back!.status, ModelStatus.MODEL_STATUS_CHAMPION);
  assert.equal((await trainer.client.getModel({ modelId: worse.id })).model!.status, ModelStatus.MODEL_STATUS_RETIRED);
  await eventually('rollback model.promoted', async () => promoted.find((e) => e.modelId === first.id && e.decidedBy === 'bob'));
  await assert.rejects(trainer.client.rollbackModel({ datasetId, actor: 'bob' }), /FAILED_PRECONDITION|replaced no earlier model/);
});

test('cancelling a running run stops it within a batch', async () => {
  const { run } = await trainer.client.startTrainingRun({ datasetId, hyperParameters: quick({ epochs: 50, batchSize: 8 }) });
  await eventually('training batches', async () => {
    const { run: r } = await trainer.client.getTrainingRun({ runId: run!.id });
    return r!.progress!.phase === 'training' && r!.progress!.batch >= 1;
  });
  const cancelledAt = Date.now();
  batchesAfterAbort = 0;
  const { run: cancelled } = await trainer.client.cancelTrainingRun({ runId: run!.id });
  assert.equal(cancelled!.status, RunStatus.RUN_STATUS_CANCELLED);
  // The worker is free again once the job stopped: the next run starts right after.
  const { run: next } = await trainer.client.startTrainingRun({ datasetId, hyperParameters: quick({ epochs: 1 }) });
  await eventually('the next run running', async () => (await trainer.client.getTrainingRun({ runId: next!.id })).run!.status !== RunStatus.RUN_STATUS_QUEUED ? true : undefined);
  assert.ok(Date.now() - cancelledAt < 10_000, 'the cancelled job let go of the worker quickly');
  assert.ok(batchesAfterAbort <= 1, `${batchesAfterAbort} batches trained after the cancel`);
  await trainer.client.cancelTrainingRun({ runId: next!.id }).catch(() => undefined);
  assert.equal((await trainer.client.getTrainingRun({ runId: run!.id })).run!.status, RunStatus.RUN_STATUS_CANCELLED);
  await assert.rejects(trainer.client.cancelTrainingRun({ runId: run!.id }), /already CANCELLED/);
});

test('listing runs pages newest first; bad input is rejected clearly', async () => {
  const page1 = await trainer.client.listTrainingRuns({ datasetId, limit: 2, cursor: '' });
  assert.equal(page1.runs.length, 2);
  assert.ok(page1.nextCursor);
  const page2 = await trainer.client.listTrainingRuns({ datasetId, limit: 10, cursor: page1.nextCursor });
  const all = [...page1.runs, ...page2.runs];
  assert.equal(new Set(all.map((r) => r.id)).size, all.length);
  assert.ok(all.length >= 4);
  assert.ok(all[0]!.createdAt! >= all[all.length - 1]!.createdAt!);
  await assert.rejects(trainer.client.startTrainingRun({ datasetId: '00000000-0000-4000-8000-000000000000' }), /NOT_FOUND|not found/);
  await assert.rejects(trainer.client.startTrainingRun({ datasetId, hyperParameters: quick({ learningRate: 0 }) }), /learning_rate/);
  await assert.rejects(trainer.client.setRetrainPolicy({ policy: { datasetId, everyHumanLabels: 1, replayRatio: 2, promotionTolerance: 0, maxRecallDrop: 0.05 } }), /replay_ratio/);
});

test('the retrain policy starts a run after N new human labels', async () => {
  const { policy: defaults } = await trainer.client.getRetrainPolicy({ datasetId });
  assert.deepEqual(defaults, { datasetId, everyHumanLabels: 0, replayRatio: 0.5, promotionTolerance: 0, maxRecallDrop: 0.05 });
  await trainer.client.setRetrainPolicy({ policy: { ...defaults!, everyHumanLabels: 10 } });
  const before = (await trainer.client.listTrainingRuns({ datasetId, limit: 100, cursor: '' })).runs.length;
  await uploadLabelled(infra, datasetId, 1); // 10 new human labels
  const started = await eventually('a policy run', async () => {
    const { runs } = await trainer.client.listTrainingRuns({ datasetId, limit: 100, cursor: '' });
    return runs.length > before ? runs[0] : undefined;
  }, 30_000);
  assert.equal(started.trigger, trainingV1.RunTrigger.RUN_TRIGGER_POLICY);
  assert.equal(started.requestedBy, 'policy');
  await trainer.client.cancelTrainingRun({ runId: started.id });
});
