// The data-parallel engine trains exactly like the local engine (up to float rounding) and keeps
// its replicas identical.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLogger, InvalidArgumentError } from '@labelloop/common';
import { mnistLabel, mnistPixels } from '@labelloop/testing';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/init-backend.js';
import { forward } from '../src/models/forward.js';
import { createLocalEngine } from '../src/engine/local-engine.js';
import { createParallelEngine, createTrainingEngine, type ParallelEngine } from '../src/engine/parallel-engine.js';
import type { OptimizerConfig, TrainBatch } from '../src/engine/types.js';
import type { ModelSpec } from '../src/models/model-spec.js';

const spec: ModelSpec = { architecture: 'cnn-28', inputShape: [28, 28, 1], numClasses: 10 };

function mnistBatch(start: number, n: number, weighted = false): TrainBatch {
  const x = new Uint8Array(n * 784);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    x.set(mnistPixels('train', start + i), i * 784);
    y[i] = mnistLabel('train', start + i);
  }
  return { x, y, n, ...(weighted ? { weights: Float32Array.from(y, (label) => (label % 2 === 0 ? 2 : 0.5)) } : {}) };
}

/** max |a − b| over all weights, and max |b|. */
function weightDistance(a: Float32Array[], b: Float32Array[]): { diff: number; scale: number } {
  let diff = 0;
  let scale = 0;
  a.forEach((w, i) => w.forEach((v, j) => {
    diff = Math.max(diff, Math.abs(v - b[i]![j]!));
    scale = Math.max(scale, Math.abs(b[i]![j]!));
  }));
  return { diff, scale };
}

async function compareWithLocal(engine: ParallelEngine, optimizer: OptimizerConfig, batches: TrainBatch[]) {
  const local = createLocalEngine({ spec, optimizer, seed: 11 });
  try {
    await local.setWeights(await engine.getWeights());
    const losses: Array<[number, number]> = [];
    for (const batch of batches) {
      const [p, l] = [await engine.step(batch), await local.step(batch)];
      assert.equal(p.accuracy, l.accuracy);
      losses.push([p.loss, l.loss]);
    }
    return { losses, distance: weightDistance(await engine.getWeights(), await local.getWeights()) };
  } finally {
    await local.dispose();
  }
}

describe('parallel engine', () => {
  const sgd: OptimizerConfig = { name: 'momentum', learningRate: 0.05 };
  let engine: ParallelEngine;
  before(async () => {
    await initBackend({ env: {}, logger: createLogger({ service: 'test', level: 'warn' }) });
    engine = await createParallelEngine({ spec, optimizer: sgd, seed: 11, workers: 2 });
  });
  after(() => engine.dispose());

  it('matches the local engine step for step (SGD with momentum, dropout on, uneven and weighted batches)', async () => {
    const batches = [mnistBatch(0, 64), mnistBatch(64, 37, true), mnistBatch(101, 1), mnistBatch(102, 64)];
    const { losses, distance } = await compareWithLocal(engine, sgd, batches);
    for (const [p, l] of losses) assert.ok(Math.abs(p - l) <= 1e-5 * Math.abs(l), `loss ${p} vs ${l}`);
    assert.ok(distance.diff <= 1e-5 * distance.scale, `weights differ by ${distance.diff} (scale ${distance.scale})`);
  });

  it('keeps every replica bit-identical', async () => {
    const [a, b] = [await engine.getReplicaWeights(0), await engine.getReplicaWeights(1)];
    assert.deepEqual(a, b);
  });

  it('sets weights on every replica', async () => {
    const weights = (await engine.getWeights()).map((w) => w.map((_, i) => (i % 7) / 100));
    await engine.setWeights(weights);
    assert.deepEqual(await engine.getReplicaWeights(1), weights);
    assert.deepEqual(await engine.getReplicaWeights(0), weights);
  });

  it('predicts the same logits as the model on one thread, across workers', async () => {
    const local = createLocalEngine({ spec, optimizer: sgd, seed: 11 });
    try {
      await local.setWeights(await engine.getWeights());
      const { x, n } = mnistBatch(500, 301);
      const parallel = await engine.predictLogits(x, { batchSize: 100 });
      const expected = tf.tidy(() =>
        forward(local.model, tf.tensor4d(x, [n, 28, 28, 1], 'int32').toFloat(), { training: false, dropout: false }).dataSync(),
      );
      assert.equal(parallel.length, n * 10);
      let diff = 0;
      let scale = 0;
      expected.forEach((v, i) => {
        diff = Math.max(diff, Math.abs(v - parallel[i]!));
        scale = Math.max(scale, Math.abs(v));
      });
      assert.ok(diff <= 1e-5 * scale, `logits differ by ${diff} (scale ${scale})`);
    } finally {
      await local.dispose();
    }
  });

  it('rejects a malformed batch before any worker sees it', async () => {
    const batch = mnistBatch(0, 4);
    await assert.rejects(engine.step({ ...batch, y: Int32Array.from([0, 1, 2, 10]) }), InvalidArgumentError);
    await assert.rejects(engine.step({ ...batch, n: 5 }), InvalidArgumentError);
    const ok = await engine.step(batch);
    assert.ok(Number.isFinite(ok.loss));
  });

  it('matches the local engine with Adam (up to the rounding Adam amplifies)', async () => {
    const adam: OptimizerConfig = { name: 'adam', learningRate: 1e-3 };
    const other = await createParallelEngine({ spec, optimizer: adam, seed: 11, workers: 2 });
    try {
      const { losses, distance } = await compareWithLocal(other, adam, [mnistBatch(200, 64), mnistBatch(264, 64), mnistBatch(328, 64)]);
      for (const [p, l] of losses) assert.ok(Math.abs(p - l) <= 1e-4 * Math.abs(l), `loss ${p} vs ${l}`);
      // Adam divides by √v: where a gradient is ~0, rounding can move a weight by up to ~lr a step.
      assert.ok(distance.diff <= 3 * adam.learningRate, `weights differ by ${distance.diff}`);
      assert.deepEqual(await other.getReplicaWeights(0), await other.getReplicaWeights(1));
    } finally {
      await other.dispose();
    }
    await assert.rejects(other.step(mnistBatch(0, 2)), /disposed/);
  });

  it('createTrainingEngine picks the parallel engine on wasm with several workers, else the local one', async () => {
    const single = await createTrainingEngine({ spec, optimizer: sgd, seed: 1, workers: 1 });
    assert.ok('model' in single, 'one worker: the local engine');
    await single.dispose();
    const several = await createTrainingEngine({ spec, optimizer: sgd, seed: 1, workers: 2 });
    assert.equal((several as ParallelEngine).workers, 2);
    await several.dispose();
  });
});
