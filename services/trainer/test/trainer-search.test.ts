// Hyper-parameter search through the trainer's gRPC API: each trial a work item of its own with
// validation metrics in training.trials, then the best trial's parameters train the one model.
// Real dataset service, NATS, S3, PGlite/PostgreSQL and real (tiny) training with libs/ml.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { trainingV1 } from '@labelloop/proto';
import { listTrials, type TrialRow } from '../src/adapters/trial-repository.js';
import { hyperParametersFromProto } from '../src/grpc/convert.js';
import { createDigits, eventually, startInfra, startTrainer, uploadLabelled, type Infra, type InProcessTrainer } from './support/harness.js';

const { RunStatus, SearchStrategy, OptimizerName } = trainingV1;
let infra: Infra;
let trainer: InProcessTrainer;
let datasetId: string;

before(async () => {
  infra = await startInfra();
  trainer = await startTrainer(infra);
  datasetId = await createDigits(infra);
  await uploadLabelled(infra, datasetId, 6);
});

after(async () => {
  await trainer?.close();
  await infra?.close();
});

const base: trainingV1.HyperParameters = { optimizer: OptimizerName.OPTIMIZER_NAME_ADAM, learningRate: 0.003, epochs: 2, momentum: 0, batchSize: 16 };

async function finished(runId: string): Promise<trainingV1.TrainingRun> {
  return eventually(`run ${runId} to end`, async () => {
    const { run } = await trainer.client.getTrainingRun({ runId });
    return [RunStatus.RUN_STATUS_SUCCEEDED, RunStatus.RUN_STATUS_FAILED, RunStatus.RUN_STATUS_CANCELLED].includes(run!.status) ? run : undefined;
  }, 120_000);
}

/** The search's ranking, recomputed from the rows: macro-F1, then the larger budget, then the earlier trial. */
function bestOf(trials: TrialRow[]): TrialRow {
  return [...trials].sort((a, b) => b.validationMacroF1! - a.validationMacroF1! || b.budget - a.budget || a.trialId.localeCompare(b.trialId))[0]!;
}

test('a RANDOM search of 3 trials records 3 results and trains one model with the best trial’s parameters', async () => {
  const { run } = await trainer.client.startTrainingRun({
    datasetId, hyperParameters: base, trigger: trainingV1.RunTrigger.RUN_TRIGGER_API, requestedBy: 'tester',
    search: { strategy: SearchStrategy.SEARCH_STRATEGY_RANDOM, trials: 3, maxEpochs: 2, seed: 11 },
  });
  assert.equal(run!.status, RunStatus.RUN_STATUS_QUEUED);
  assert.deepEqual([run!.progress!.trialsDone, run!.progress!.trialsTotal], [0, 3]);

  const done = await finished(run!.id);
  assert.equal(done.status, RunStatus.RUN_STATUS_SUCCEEDED, done.failureReason);
  assert.deepEqual([done.progress!.trialsDone, done.progress!.trialsTotal], [3, 3]);

  const trials = await listTrials(trainer.db.db, run!.id);
  assert.equal(trials.length, 3);
  for (const t of trials) {
    assert.equal(t.status, 'SUCCEEDED', t.failureReason);
    assert.ok(t.validationMacroF1! >= 0 && t.validationMacroF1! <= 1, `macro-F1 ${t.validationMacroF1}`);
    assert.ok(t.validationAccuracy! >= 0 && t.validationAccuracy! <= 1);
    assert.ok(t.budget >= 1 && t.budget <= 2 && t.params.epochs === t.budget);
    assert.equal(t.params.batchSize, base.batchSize);
    // Each trial's snapshot lives under the run, never at a model version's place.
    assert.ok(await infra.s3.store.head(`models/${datasetId}/runs/${run!.id}/trials/${t.trialId}/snapshot.jsonl`));
  }
  assert.equal(new Set(trials.map((t) => JSON.stringify(t.params))).size, 3, 'three different configurations');

  const { models } = await trainer.client.listModels({ datasetId });
  assert.equal(models.length, 1, 'one model version for the whole search');
  const model = models[0]!;
  assert.equal(model.id, done.modelId);
  assert.equal(model.version, 1);
  assert.deepEqual(hyperParametersFromProto(model.hyperParameters!), bestOf(trials).params);
  assert.deepEqual(hyperParametersFromProto(done.hyperParameters!), bestOf(trials).params);
  assert.equal(model.metrics.length, 2, 'the final model is evaluated on test and validation');
});

test('cancelling a search run cancels its pending trials and creates no model', async () => {
  const { run } = await trainer.client.startTrainingRun({
    datasetId, hyperParameters: base, trigger: trainingV1.RunTrigger.RUN_TRIGGER_API, requestedBy: 'tester',
    search: { strategy: SearchStrategy.SEARCH_STRATEGY_RANDOM, trials: 3, maxEpochs: 2, seed: 12 },
  });
  const { run: cancelled } = await trainer.client.cancelTrainingRun({ runId: run!.id });
  assert.equal(cancelled!.status, RunStatus.RUN_STATUS_CANCELLED);
  const trials = await listTrials(trainer.db.db, run!.id);
  assert.deepEqual(trials.map((t) => t.status), ['CANCELLED', 'CANCELLED', 'CANCELLED']);
  // The three work items are delivered and skipped; the trials stay cancelled and no model appears.
  await eventually('the work items to drain', async () => (await trainer.messaging.nats.jetstreamManager().then((m) => m.streams.info(trainer.messaging.workStream))).state.messages === 0);
  assert.deepEqual((await listTrials(trainer.db.db, run!.id)).map((t) => t.status), ['CANCELLED', 'CANCELLED', 'CANCELLED']);
  const { models } = await trainer.client.listModels({ datasetId });
  assert.equal(models.filter((m) => m.runId === run!.id).length, 0);
  assert.equal((await finished(run!.id)).status, RunStatus.RUN_STATUS_CANCELLED);
});

test('a search with too many trials is rejected', async () => {
  await assert.rejects(
    trainer.client.startTrainingRun({
      datasetId, hyperParameters: base, trigger: trainingV1.RunTrigger.RUN_TRIGGER_API, requestedBy: 'tester',
      search: { strategy: SearchStrategy.SEARCH_STRATEGY_SUCCESSIVE_HALVING, trials: 1000, maxEpochs: 2, seed: 1 },
    }),
    /search\.trials must be 0\.\.100/,
  );
});
