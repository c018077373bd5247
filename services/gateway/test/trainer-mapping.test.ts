// proto → JSON of the trainer's messages (pure functions): enum names, nulls for unset fields,
// metrics keyed by split with the confusion matrix as rows, and the response schemas accept it all.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { trainingV1 } from '@labelloop/proto';
import {
  confusionRows,
  hyperParametersToProto,
  modelToJson,
  progressEventOf,
  runToJson,
  searchToProto,
} from '../src/clients/trainer.mapping.js';
import { Model, ProgressEvent, TrainingRun } from '../src/openapi/training-schemas.js';

const created = new Date('2026-11-28T10:00:00.000Z');

function run(overrides: Partial<trainingV1.TrainingRun> = {}): trainingV1.TrainingRun {
  return {
    ...trainingV1.TrainingRun.fromPartial({
      id: 'r1',
      datasetId: 'd1',
      status: trainingV1.RunStatus.RUN_STATUS_QUEUED,
      trigger: trainingV1.RunTrigger.RUN_TRIGGER_SCHEDULE,
      requestedBy: 'schedule',
      createdAt: created,
    }),
    ...overrides,
  };
}

test('a queued run: enum names, nulls for what is not set yet, and the schema accepts it', () => {
  const json = runToJson(run());
  assert.deepEqual(json, {
    id: 'r1',
    datasetId: 'd1',
    status: 'queued',
    trigger: 'schedule',
    requestedBy: 'schedule',
    hyperParameters: null,
    search: null,
    progress: null,
    failureReason: null,
    modelId: null,
    createdAt: '2026-11-28T10:00:00.000Z',
    startedAt: null,
    finishedAt: null,
    attempts: 0,
  });
  TrainingRun.parse(json);
  // Before any progress the event still carries the status, with zeros.
  const event = ProgressEvent.parse(progressEventOf(json));
  assert.deepEqual([event.runId, event.status, event.phase, event.epoch, event.loss], ['r1', 'queued', '', 0, 0]);
  assert.throws(() => runToJson(run({ status: trainingV1.RunStatus.RUN_STATUS_UNSPECIFIED })), /lacks a run status/);
});

test('a running run with a search: progress and settings map both ways', () => {
  const hp = { optimizer: 'momentum' as const, learningRate: 0.01, epochs: 6, momentum: 0.9, batchSize: 64 };
  const search = { strategy: 'successive-halving' as const, trials: 8, maxEpochs: 9, seed: 42 };
  assert.equal(hyperParametersToProto(hp).optimizer, trainingV1.OptimizerName.OPTIMIZER_NAME_MOMENTUM);
  assert.equal(searchToProto(search).strategy, trainingV1.SearchStrategy.SEARCH_STRATEGY_SUCCESSIVE_HALVING);
  const json = runToJson(
    run({
      status: trainingV1.RunStatus.RUN_STATUS_RUNNING,
      hyperParameters: hyperParametersToProto(hp),
      search: searchToProto(search),
      progress: trainingV1.Progress.fromPartial({ phase: 'training', epoch: 3, epochs: 6, loss: 0.25, accuracy: 0.9, imagesPerSecond: 800, etaSeconds: 12 }),
      startedAt: created,
      attempts: 2,
    }),
  );
  assert.deepEqual(json.hyperParameters, hp);
  assert.deepEqual(json.search, search);
  const event = progressEventOf(TrainingRun.parse(json));
  assert.deepEqual(
    [event.status, event.phase, event.epoch, event.epochs, event.loss, event.accuracy, event.imagesPerSecond, event.etaSeconds],
    ['running', 'training', 3, 6, 0.25, 0.9, 800, 12],
  );
});

test('a model: metrics keyed by split, confusion matrix as k rows, snapshot, and schema-valid', () => {
  const split = (name: string, cells: number[]) =>
    trainingV1.SplitMetrics.fromPartial({
      split: name,
      accuracy: 0.75,
      macroF1: 0.7,
      perClass: [
        { className: 'cat', precision: 1, recall: 0.5, f1: 0.67, support: 2 },
        { className: 'dog', precision: 0.67, recall: 1, f1: 0.8, support: 2 },
      ],
      confusionMatrix: cells,
      items: 4,
    });
  const model = trainingV1.Model.fromPartial({
    id: 'm1',
    datasetId: 'd1',
    version: 2,
    runId: 'r1',
    status: trainingV1.ModelStatus.MODEL_STATUS_CHAMPION,
    architecture: 'cnn-28',
    classes: ['cat', 'dog'],
    metrics: [split('test', [1, 1, 0, 2]), split('validation', [2, 0, 0, 2])],
    snapshotKey: 'models/d1/2/snapshot.jsonl',
    newItems: 30,
    replayedItems: 12,
    humanLabels: 57,
    createdAt: created,
  });
  const json = Model.parse(modelToJson(model));
  assert.equal(json.status, 'champion');
  assert.deepEqual(json.metrics.test!.confusionMatrix, [
    [1, 1],
    [0, 2],
  ]);
  assert.deepEqual(json.metrics.validation!.confusionMatrix, [
    [2, 0],
    [0, 2],
  ]);
  assert.deepEqual(json.metrics.test!.perClass.map((c) => c.recall), [0.5, 1]);
  assert.deepEqual(json.snapshot, { key: 'models/d1/2/snapshot.jsonl', newItems: 30, replayedItems: 12, humanLabels: 57 });
  assert.equal(json.promotedAt, null);
  assert.equal(json.hyperParameters, null);
  assert.throws(() => modelToJson({ ...model, metrics: [split('test', [1, 2, 3])] }), /3 cells for 2 classes/);
});

test('confusionRows: row-major cells to rows', () => {
  assert.deepEqual(confusionRows([1, 2, 3, 4, 5, 6, 7, 8, 9], 3), [
    [1, 2, 3],
    [4, 5, 6],
    [7, 8, 9],
  ]);
  assert.deepEqual(confusionRows([], 0), []);
});
