import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { InvalidArgumentError } from '@labelloop/common';
import { initBackend } from '../src/backend/init-backend.js';
import { createLocalEngine } from '../src/engine/local-engine.js';
import type { OptimizerConfig, TrainBatch } from '../src/engine/types.js';
import type { ModelSpec } from '../src/models/model-spec.js';
import { mnistImageSet } from './mnist-fixture.js';

await initBackend();

const spec: ModelSpec = { architecture: 'cnn-28', inputShape: [28, 28, 1], numClasses: 10 };
const digits = mnistImageSet('train', 0, 64);
const batch: TrainBatch = { x: digits.x, y: digits.y, n: digits.n };

test('each of the four optimizers lowers the loss of a fixed batch of digits', async () => {
  const optimizers: OptimizerConfig[] = [
    { name: 'sgd', learningRate: 0.05 },
    { name: 'momentum', learningRate: 0.02, momentum: 0.9 },
    { name: 'adam', learningRate: 0.003 },
    { name: 'rmsprop', learningRate: 0.001 },
  ];
  for (const optimizer of optimizers) {
    const engine = createLocalEngine({ spec: { ...spec, dropout: 0 }, optimizer, seed: 1 });
    const losses: number[] = [];
    for (let i = 0; i < 8; i++) losses.push((await engine.step(batch)).loss);
    await engine.dispose();
    assert.ok(losses[0]! > 2, `${optimizer.name}: starts near ln 10, got ${losses[0]}`);
    assert.ok(losses.at(-1)! < 0.6 * losses[0]!, `${optimizer.name}: ${losses.map((l) => l.toFixed(3)).join(' ')}`);
  }
});

test('sample weights scale each sample’s loss; accuracy counts the batch', async () => {
  // No dropout: the masks of a 32- and a 64-image batch would differ.
  const make = () => createLocalEngine({ spec: { ...spec, dropout: 0 }, optimizer: { name: 'sgd', learningRate: 0.01 }, seed: 9 });
  const [a, b, c] = [make(), make(), make()];
  const plain = await a.step(batch);
  const doubled = await b.step({ ...batch, weights: new Float32Array(batch.n).fill(2) });
  // Only the first half counts: the mean over the batch is half of the first half's mean loss.
  const half = new Float32Array(batch.n).fill(0, batch.n / 2).fill(1, 0, batch.n / 2);
  const halfLoss = (await c.step({ ...batch, weights: half })).loss;
  const firstHalf = await make().step({ x: batch.x.subarray(0, 32 * 784), y: batch.y.subarray(0, 32), n: 32 });
  assert.ok(Math.abs(doubled.loss - 2 * plain.loss) < 1e-4 * plain.loss, `${doubled.loss} vs 2·${plain.loss}`);
  assert.equal(doubled.accuracy, plain.accuracy);
  assert.ok(plain.accuracy >= 0 && plain.accuracy <= 1 && Number.isInteger(plain.accuracy * batch.n));
  assert.ok(Math.abs(halfLoss - firstHalf.loss / 2) < 1e-4 * firstHalf.loss, `${halfLoss} vs ${firstHalf.loss}/2`);
  await Promise.all([a, b, c].map((e) => e.dispose()));
});

test('weights round-trip through getWeights/setWeights as copies; steps leak no tensors', async () => {
  const engine = createLocalEngine({ spec, optimizer: { name: 'adam', learningRate: 0.001 }, seed: 2 });
  const before = await engine.getWeights();
  await engine.step(batch); // creates the optimizer's slots
  const tensors = tf.memory().numTensors;
  await engine.step(batch);
  assert.equal(tf.memory().numTensors, tensors);
  const trained = await engine.getWeights();
  assert.notDeepEqual(trained[0], before[0]);
  trained[0]!.fill(123); // a copy: the model is unchanged
  assert.notEqual((await engine.getWeights())[0]![0], 123);
  await engine.setWeights(before);
  assert.deepEqual(await engine.getWeights(), before);
  await assert.rejects(engine.setWeights(before.slice(1)), InvalidArgumentError);
  await engine.dispose();
});

test('malformed batches are rejected with a clear error', async () => {
  const engine = createLocalEngine({ spec, optimizer: { name: 'sgd', learningRate: 0.01 }, seed: 2 });
  await assert.rejects(engine.step({ ...batch, n: 63 }), /bytes/);
  await assert.rejects(engine.step({ ...batch, y: new Int32Array(64).fill(10) }), /label 10/);
  await assert.rejects(engine.step({ ...batch, weights: new Float32Array(3) }), InvalidArgumentError);
  await engine.dispose();
  assert.throws(() => createLocalEngine({ spec, optimizer: { name: 'adam', learningRate: -1 }, seed: 1 }), InvalidArgumentError);
});

test('the AlexNet-style network trains a step; batch norm updates its moving statistics', async () => {
  const alex: ModelSpec = { architecture: 'alexnet', inputShape: [227, 227, 3], numClasses: 101 };
  const engine = createLocalEngine({ spec: alex, optimizer: { name: 'momentum', learningRate: 0.01 }, seed: 3 });
  const n = 2;
  const x = new Uint8Array(n * 227 * 227 * 3).map((_, i) => (i * 31) % 256);
  const before = await engine.getWeights();
  const { loss } = await engine.step({ x, y: Int32Array.from([4, 99]), n });
  const after = await engine.getWeights();
  assert.ok(Number.isFinite(loss) && loss > 0);
  assert.ok(engine.model.nonTrainableWeights.some((w) => w.name.includes('moving_mean')));
  const changed = after.filter((w, i) => w.some((v, j) => v !== before[i]![j])).length;
  assert.equal(changed, after.length, 'every weight, the moving statistics included, moved');
  await engine.dispose();
});
