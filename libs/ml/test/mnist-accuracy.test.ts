import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { useWasmBackend } from '../src/backend/wasm-backend.js';
import { augment } from '../src/data/augment.js';
import { classWeights } from '../src/data/class-weights.js';
import { createLocalEngine } from '../src/engine/local-engine.js';
import { predict } from '../src/predict/predict.js';
import { trainModel } from '../src/training/train-model.js';
import { mnistImageSet } from './mnist-fixture.js';

// The real-data check: the compact CNN trained on the first 1,000 MNIST training images
// reaches ≥ 94 % on all 10,000 test images, on the wasm backend, seeded.
//
// The one configuration (chosen on MNIST *training* images 10,000–11,999 as validation, never on
// the test set): Adam 0.002, batch 32, 20 epochs, digits augmentation of ±1 px shifts and ±10°
// rotations (±2 px shifts and no augmentation both scored lower), inverse-frequency class weights.
// It scored 95.5–96.3 % on that validation set.

await useWasmBackend();

test('cnn-28 trained on 1,000 MNIST digits reaches ≥ 94 % on the 10,000 test digits', async () => {
  const train = mnistImageSet('train', 0, 1000);
  const testSet = mnistImageSet('test', 0, 10_000);
  const engine = createLocalEngine({
    spec: { architecture: 'cnn-28', inputShape: [28, 28, 1], numClasses: 10 },
    optimizer: { name: 'adam', learningRate: 0.002 },
    seed: 1,
  });
  const started = performance.now();
  const result = await trainModel({
    engine,
    train,
    epochs: 20,
    batchSize: 32,
    seed: 1,
    classWeights: classWeights(train.classCounts(10)),
    augment: (batch, rng) => augment(batch, train.spec, 'digits', rng, { maxShift: 1, maxRotationDeg: 10 }),
  });
  const trainSeconds = (performance.now() - started) / 1000;

  const inferStart = performance.now();
  const predictions = await predict(engine.model, testSet.x, { topK: 1 });
  const inferSeconds = (performance.now() - inferStart) / 1000;
  const correct = predictions.filter((p, i) => p.topK[0]!.classIndex === testSet.y[i]).length;
  const accuracy = correct / testSet.n;
  const trainImagesPerSecond = (20 * 1000) / result.history.reduce((s, h) => s + 1000 / h.imagesPerSecond, 0);
  console.log(
    JSON.stringify({
      backend: tf.getBackend(),
      accuracy,
      trainSeconds: +trainSeconds.toFixed(1),
      trainImagesPerSecond: Math.round(trainImagesPerSecond),
      inferSeconds: +inferSeconds.toFixed(1),
      inferImagesPerSecond: Math.round(testSet.n / inferSeconds),
    }),
  );
  await engine.dispose();
  assert.equal(tf.getBackend(), 'wasm');
  assert.equal(result.history.length, 20);
  assert.ok(accuracy >= 0.94, `test accuracy ${accuracy}`);
});
