import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { InvalidArgumentError } from '@labelloop/common';
import { initBackend } from '../src/backend/init-backend.js';
import { buildModel, EMBEDDING_LAYER } from '../src/models/index.js';
import { predict, topK } from '../src/predict/predict.js';
import { mnistImageSet } from './mnist-fixture.js';

await initBackend();

const digits = mnistImageSet('test', 0, 40);
const model = buildModel({ architecture: 'cnn-28', inputShape: [28, 28, 1], numClasses: 10 }, 5);

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5): boolean =>
  a.length === b.length && Array.from(a).every((v, i) => Math.abs(v - b[i]!) <= tol);

test('probabilities are softmax(logits / T), top-k is sorted, logits match model.predict', async () => {
  const out = await predict(model, digits.x, { temperature: 2, topK: 3 });
  assert.equal(out.length, 40);
  const reference = tf.tidy(() => model.predict(tf.tensor4d(digits.x, [40, 28, 28, 1], 'int32')) as tf.Tensor).dataSync();
  for (const [i, p] of out.entries()) {
    assert.ok(close(p.logits, reference.slice(i * 10, i * 10 + 10), 1e-4));
    const max = Math.max(...p.logits);
    const e = Array.from(p.logits, (l) => Math.exp((l - max) / 2));
    const sum = e.reduce((a, b) => a + b);
    assert.ok(close(p.probabilities, e.map((v) => v / sum)));
    assert.equal(p.topK.length, 3);
    assert.ok(p.topK[0]!.probability >= p.topK[1]!.probability && p.topK[1]!.probability >= p.topK[2]!.probability);
    assert.equal(p.topK[0]!.probability, Math.max(...p.probabilities));
    assert.equal(p.probabilities[p.topK[0]!.classIndex], p.topK[0]!.probability);
    assert.equal(p.mcSamples, undefined);
    assert.equal(p.embedding, undefined);
  }
  // A higher temperature flattens the distribution.
  const [cold] = await predict(model, digits.image(0), { temperature: 0.5 });
  assert.ok(cold!.topK[0]!.probability > out[0]!.topK[0]!.probability);
});

test('results do not depend on the batch size, and predict leaks no tensors', async () => {
  await predict(model, digits.x, { batchSize: 7, mcSamples: 2, embeddings: true, seed: 1 }); // warm-up
  const tensors = tf.memory().numTensors;
  const small = await predict(model, digits.x, { batchSize: 7, embeddings: true });
  const large = await predict(model, digits.x, { batchSize: 256, embeddings: true });
  await predict(model, digits.x, { batchSize: 16, mcSamples: 3, seed: 2 });
  assert.equal(tf.memory().numTensors, tensors);
  for (let i = 0; i < 40; i++) {
    assert.ok(close(small[i]!.probabilities, large[i]!.probabilities));
    assert.ok(close(small[i]!.embedding!, large[i]!.embedding!));
  }
});

test('embeddings are the penultimate layer’s output', async () => {
  const out = await predict(model, digits.x, { embeddings: true });
  const embedder = tf.model({ inputs: model.inputs, outputs: model.getLayer(EMBEDDING_LAYER).output as tf.SymbolicTensor });
  const reference = tf.tidy(() => embedder.predict(tf.tensor4d(digits.x, [40, 28, 28, 1], 'int32')) as tf.Tensor).dataSync();
  for (const [i, p] of out.entries()) {
    assert.equal(p.embedding!.length, 128);
    assert.ok(close(p.embedding!, reference.slice(i * 128, (i + 1) * 128), 1e-4));
  }
});

test('MC dropout: T stochastic passes that differ from each other and from the deterministic output, and repeat for a seed', async () => {
  const a = await predict(model, digits.x, { mcSamples: 30, seed: 7 });
  const b = await predict(model, digits.x, { mcSamples: 30, seed: 7 });
  for (const [i, p] of a.entries()) {
    assert.equal(p.mcSamples!.length, 30);
    for (const s of p.mcSamples!) assert.ok(Math.abs(s.reduce((x, y) => x + y) - 1) < 1e-5);
    assert.notDeepEqual(p.mcSamples![0], p.mcSamples![1]);
    assert.ok(!close(p.mcSamples![0]!, p.probabilities));
    assert.deepEqual(b[i]!.mcSamples, p.mcSamples);
  }
  // With dropout off (rate 0) every sample is the deterministic prediction.
  const plain = buildModel({ architecture: 'cnn-28', inputShape: [28, 28, 1], numClasses: 10, dropout: 0 }, 5);
  const [one] = await predict(plain, digits.image(3), { mcSamples: 3, seed: 1 });
  for (const s of one!.mcSamples!) assert.ok(close(s, one!.probabilities));
  plain.dispose();
});

test('bad input is rejected', async () => {
  await assert.rejects(predict(model, new Uint8Array(783)), InvalidArgumentError);
  await assert.rejects(predict(model, digits.x, { temperature: 0 }), InvalidArgumentError);
  await assert.rejects(predict(model, digits.x, { mcSamples: -1 }), InvalidArgumentError);
  assert.throws(() => topK(new Float32Array(3), 0), InvalidArgumentError);
  assert.deepEqual(await predict(model, new Uint8Array(0)), []);
});
