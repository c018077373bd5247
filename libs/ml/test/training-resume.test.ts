import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError } from '@labelloop/common';
import { initBackend } from '../src/backend/init-backend.js';
import { augment } from '../src/data/augment.js';
import { createLocalEngine } from '../src/engine/local-engine.js';
import type { ModelSpec } from '../src/models/model-spec.js';
import type { EpochStats } from '../src/training/progress.js';
import { trainModel, type TrainModelOptions } from '../src/training/train-model.js';
import { mnistImageSet } from './mnist-fixture.js';

await initBackend();

// No dropout and plain SGD (no optimizer state): then weights + epoch are the whole training state,
// and a resumed run must match an uninterrupted one exactly.
const spec: ModelSpec = { architecture: 'cnn-28', inputShape: [28, 28, 1], numClasses: 10, dropout: 0 };
const train = mnistImageSet('train', 0, 96);
const engineFor = () => createLocalEngine({ spec, optimizer: { name: 'sgd', learningRate: 0.01 }, seed: 5 });
const common = (engine: ReturnType<typeof engineFor>): TrainModelOptions => ({
  engine,
  train,
  epochs: 3,
  batchSize: 32,
  seed: 9,
  augment: (batch, rng) => augment(batch, train.spec, 'digits', rng),
});

test('resumeAfterEpoch continues an interrupted run exactly as if it had not stopped', async () => {
  const whole = engineFor();
  const saved: { epoch: number; weights: Float32Array[] }[] = [];
  const full = await trainModel({
    ...common(whole),
    afterEpoch: async (stats: EpochStats) => void saved.push({ epoch: stats.epoch, weights: await whole.getWeights() }),
  });
  const expected = await whole.getWeights();
  await whole.dispose();
  assert.deepEqual(saved.map((s) => s.epoch), [1, 2, 3]);

  const resumed = engineFor();
  await resumed.setWeights(saved[0]!.weights);
  const rest = await trainModel({ ...common(resumed), resumeAfterEpoch: 1 });
  const actual = await resumed.getWeights();
  await resumed.dispose();
  assert.deepEqual(rest.history.map((h) => h.epoch), [2, 3]);
  assert.deepEqual(rest.history.map((h) => h.loss), full.history.slice(1).map((h) => h.loss));
  assert.deepEqual(actual, expected);
});

test('resumeAfterEpoch must leave at least one epoch to train', async () => {
  const engine = engineFor();
  await assert.rejects(trainModel({ ...common(engine), resumeAfterEpoch: 3 }), InvalidArgumentError);
  await assert.rejects(trainModel({ ...common(engine), resumeAfterEpoch: -1 }), InvalidArgumentError);
  await engine.dispose();
});
