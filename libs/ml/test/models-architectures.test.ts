import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { InvalidArgumentError } from '@labelloop/common';
import { initBackend } from '../src/backend/init-backend.js';
import { buildModel, EMBEDDING_LAYER, LOGITS_LAYER, modelSpecForImage, type ModelSpec } from '../src/models/index.js';

await initBackend();

const countOf = (weights: tf.LayerVariable[]): number =>
  weights.reduce((s, w) => s + w.shape.reduce((a: number, b) => a * (b ?? 0), 1), 0);

test('the AlexNet-style network has the original design’s 25,138,373 parameters (25,119,249 trainable) for 101 classes', () => {
  const model = buildModel({ architecture: 'alexnet', inputShape: [227, 227, 3], numClasses: 101 }, 7);
  try {
    assert.equal(model.countParams(), 25_138_373);
    assert.equal(countOf(model.trainableWeights), 25_119_249);
    assert.equal(countOf(model.nonTrainableWeights), 19_124); // batch-norm moving means and variances
    assert.deepEqual(model.outputs[0]!.shape, [null, 101]);
    const kinds = model.layers.map((l) => l.getClassName());
    assert.equal(kinds.filter((k) => k === 'Conv2D').length, 5);
    assert.equal(kinds.filter((k) => k === 'BatchNormalization').length, 7);
    assert.equal(kinds.filter((k) => k === 'Dropout').length, 2);
    assert.equal(model.getLayer(LOGITS_LAYER).getConfig().activation, 'linear');
    assert.deepEqual(model.getLayer(EMBEDDING_LAYER).outputShape, [null, 4096]);
  } finally {
    model.dispose();
  }
});

const compact: ModelSpec[] = [
  { architecture: 'cnn-28', inputShape: [28, 28, 1], numClasses: 10 },
  { architecture: 'cnn-32', inputShape: [32, 32, 3], numClasses: 7 },
  { architecture: 'cnn-64', inputShape: [64, 64, 3], numClasses: 3 },
];

test('compact CNNs: logits of numClasses, a named embedding, dropout, uint8 pixels rescaled inside', () => {
  for (const spec of compact) {
    const model = buildModel(spec, 1);
    try {
      assert.deepEqual(model.outputs[0]!.shape, [null, spec.numClasses], spec.architecture);
      assert.ok(model.layers.some((l) => l.getClassName() === 'Dropout'), spec.architecture);
      assert.equal((model.getLayer(EMBEDDING_LAYER).outputShape as number[]).length, 2);
      // The same pixels as 0–255 integers give logits, not probabilities: rows do not sum to 1.
      const logits = tf.tidy(() => model.predict(tf.fill([2, ...spec.inputShape], 200, 'int32')) as tf.Tensor);
      const sums = tf.tidy(() => logits.sum(1).arraySync() as number[]);
      assert.ok(sums.some((s) => Math.abs(s - 1) > 1e-3), `${spec.architecture} outputs logits`);
      logits.dispose();
    } finally {
      model.dispose();
    }
  }
  // The CNN: conv 3×3·32 → pool → conv 3×3·64 → pool → dense 128 → dropout → dense 10.
  const cnn28 = buildModel(compact[0]!, 1);
  assert.equal(cnn28.countParams(), 320 + 18_496 + 204_928 + 1_290);
  cnn28.dispose();
});

test('buildModel is deterministic for a seed and differs across seeds', () => {
  const spec = compact[1]!;
  const weights = (seed: number): Float32Array[] => {
    const model = buildModel(spec, seed);
    const out = model.getWeights().map((w) => w.dataSync() as Float32Array).map((a) => a.slice());
    model.dispose();
    return out;
  };
  const a = weights(42);
  assert.deepEqual(weights(42), a);
  const c = weights(43);
  assert.notDeepEqual(c[0], a[0]);
  assert.notDeepEqual(c.at(-2), a.at(-2));
});

test('modelSpecForImage picks the smallest network that holds the image', () => {
  assert.deepEqual(modelSpecForImage({ width: 28, height: 28, channels: 1 }, 10), {
    architecture: 'cnn-28',
    inputShape: [28, 28, 1],
    numClasses: 10,
  });
  assert.equal(modelSpecForImage({ width: 32, height: 32, channels: 3 }, 10).architecture, 'cnn-32');
  assert.deepEqual(modelSpecForImage({ width: 60, height: 40, channels: 4 }, 5).inputShape, [64, 64, 3]);
  assert.deepEqual(modelSpecForImage({ width: 300, height: 200, channels: 3 }, 101), {
    architecture: 'alexnet',
    inputShape: [227, 227, 3],
    numClasses: 101,
  });
  assert.throws(() => modelSpecForImage({ width: 28, height: 28, channels: 1 }, 1), InvalidArgumentError);
  assert.throws(() => modelSpecForImage({ width: 0, height: 28, channels: 1 }, 3), InvalidArgumentError);
});

test('buildModel rejects specs it cannot build', () => {
  const bad: unknown[] = [
    { architecture: 'resnet', inputShape: [28, 28, 1], numClasses: 10 },
    { architecture: 'cnn-28', inputShape: [28, 28, 2], numClasses: 10 },
    { architecture: 'alexnet', inputShape: [64, 64, 3], numClasses: 10 },
    { architecture: 'cnn-32', inputShape: [32, 32, 3], numClasses: 10, dropout: 1 },
  ];
  for (const spec of bad) assert.throws(() => buildModel(spec as ModelSpec), InvalidArgumentError, JSON.stringify(spec));
});
