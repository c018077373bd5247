import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError } from '@labelloop/common';
import { initBackend } from '../src/backend/init-backend.js';
import { augment } from '../src/data/augment.js';
import { classWeights } from '../src/data/class-weights.js';
import { ImageSet } from '../src/data/image-set.js';
import { createLocalEngine } from '../src/engine/local-engine.js';
import type { ModelSpec } from '../src/models/model-spec.js';
import { trainModel } from '../src/training/train-model.js';
import type { TrainingProgress } from '../src/training/progress.js';
import { validate } from '../src/training/validate.js';
import { mnistImageSet } from './mnist-fixture.js';

await initBackend();

const spec: ModelSpec = { architecture: 'cnn-28', inputShape: [28, 28, 1], numClasses: 10 };
const train = mnistImageSet('train', 0, 160);
const validation = mnistImageSet('train', 1000, 100);
const engineFor = (seed: number) => createLocalEngine({ spec, optimizer: { name: 'adam', learningRate: 0.002 }, seed });

test('a seeded run is reproducible: same seed, same weights; another seed, other weights', async () => {
  const run = async (seed: number) => {
    const engine = engineFor(seed);
    const result = await trainModel({
      engine,
      train,
      validation,
      epochs: 2,
      batchSize: 32,
      seed,
      classWeights: classWeights(train.classCounts(10)),
      augment: (batch, rng) => augment(batch, train.spec, 'digits', rng, { maxShift: 1, maxRotationDeg: 10 }),
    });
    const weights = await engine.getWeights();
    await engine.dispose();
    return { result, weights };
  };
  const a = await run(11);
  const b = await run(11);
  assert.deepEqual(b.weights, a.weights);
  assert.deepEqual(b.result.history.map((h) => [h.loss, h.valLoss]), a.result.history.map((h) => [h.loss, h.valLoss]));
  const c = await run(12);
  assert.notDeepEqual(c.weights[0], a.weights[0]);
});

test('progress: one event per batch and per epoch with loss, accuracy, images/s and ETA', async () => {
  const engine = engineFor(1);
  const events: TrainingProgress[] = [];
  const result = await trainModel({ engine, train, validation, epochs: 2, batchSize: 50, seed: 1, onProgress: (p) => events.push(p) });
  await engine.dispose();
  const batches = events.filter((e) => e.kind === 'batch');
  const epochs = events.filter((e) => e.kind === 'epoch');
  assert.equal(batches.length, 2 * 4); // 160 images in batches of 50: 50, 50, 50, 10
  assert.deepEqual(batches.slice(0, 4).map((e) => [e.epoch, e.batch, e.batches]), [[1, 1, 4], [1, 2, 4], [1, 3, 4], [1, 4, 4]]);
  for (const e of batches) {
    assert.ok(e.loss > 0 && e.accuracy >= 0 && e.accuracy <= 1 && e.imagesPerSecond > 0 && e.etaSeconds >= 0);
  }
  assert.ok(batches[0]!.etaSeconds > batches.at(-1)!.etaSeconds);
  assert.equal(epochs.length, 2);
  assert.equal(epochs.at(-1)!.etaSeconds, 0);
  assert.deepEqual(result.history.map((h) => h.epoch), [1, 2]);
  for (const h of result.history) {
    assert.ok(h.valLoss! > 0 && h.valAccuracy! >= 0 && h.imagesPerSecond > 0 && h.seconds > 0);
  }
  assert.equal(result.stoppedEarly, false);
  assert.equal(result.cancelled, false);
});

test('cancellation stops within one batch', async () => {
  const engine = engineFor(1);
  // Aborted while batch 2 is reported: batch 3 never starts.
  const controller = new AbortController();
  let steps = 0;
  const result = await trainModel({
    engine,
    train,
    epochs: 3,
    batchSize: 16,
    seed: 1,
    signal: controller.signal,
    onProgress: (p) => {
      if (p.kind === 'batch' && ++steps === 2) controller.abort();
    },
  });
  assert.equal(result.cancelled, true);
  assert.equal(steps, 2);
  assert.deepEqual(result.history, []);

  // Aborted from a timer, as a caller would: at most the batch in progress finishes.
  const timed = new AbortController();
  let timedSteps = 0;
  let stepsAtAbort = -1;
  setTimeout(() => {
    stepsAtAbort = timedSteps;
    timed.abort();
  }, 150);
  const cancelled = await trainModel({
    engine,
    train,
    epochs: 20,
    batchSize: 16,
    seed: 1,
    signal: timed.signal,
    onProgress: (p) => {
      if (p.kind === 'batch') timedSteps++;
    },
  });
  assert.equal(cancelled.cancelled, true);
  assert.ok(stepsAtAbort >= 0 && timedSteps <= stepsAtAbort + 1, `${timedSteps} steps, aborted after ${stepsAtAbort}`);

  // An already-aborted signal trains nothing.
  const none = await trainModel({ engine, train, epochs: 1, batchSize: 16, seed: 1, signal: AbortSignal.abort() });
  assert.equal(none.cancelled, true);
  assert.deepEqual(none.history, []);
  await engine.dispose();
});

test('early stopping stops after `patience` epochs without improvement and restores the best weights', async () => {
  // Validation labels that contradict the training labels: the better the model fits, the worse it scores.
  const small = train.subset(Array.from({ length: 96 }, (_, i) => i));
  const contradicting = new ImageSet(small.x, small.y.map((y) => (y + 1) % 10), small.shape);
  const engine = engineFor(4);
  const result = await trainModel({
    engine,
    train: small,
    validation: contradicting,
    epochs: 10,
    batchSize: 32,
    seed: 4,
    earlyStopping: { patience: 2, minDelta: 0 },
  });
  assert.equal(result.stoppedEarly, true);
  assert.equal(result.history.length, result.bestEpoch + 2);
  const best = result.history[result.bestEpoch - 1]!;
  const last = result.history.at(-1)!;
  assert.ok(last.valLoss! > best.valLoss!);
  const now = await validate(engine.model, contradicting, 256);
  assert.ok(Math.abs(now.loss - best.valLoss!) < 1e-5 * best.valLoss!, `restored ${now.loss}, best ${best.valLoss}`);
  await engine.dispose();
});

test('bad options are rejected', async () => {
  const engine = engineFor(1);
  const colour = new ImageSet(new Uint8Array(32 * 32 * 3), new Int32Array(1), [32, 32, 3]);
  await assert.rejects(trainModel({ engine, train: colour, epochs: 1, batchSize: 8, seed: 1 }), InvalidArgumentError);
  await assert.rejects(trainModel({ engine, train, epochs: 0, batchSize: 8, seed: 1 }), InvalidArgumentError);
  await assert.rejects(
    trainModel({ engine, train, epochs: 1, batchSize: 8, seed: 1, classWeights: new Float32Array(3) }),
    InvalidArgumentError,
  );
  await engine.dispose();
});
