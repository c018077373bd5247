import * as tf from '@tensorflow/tfjs';
import { InvalidArgumentError } from '@labelloop/common';
import { buildModel } from '../models/build-model.js';
import { forward } from '../models/forward.js';
import type { ModelSpec } from '../models/model-spec.js';
import { weightedCrossEntropy } from './loss.js';
import { createOptimizer } from './optimizer.js';
import type { EngineOptions, StepResult, TrainBatch, TrainingEngine } from './types.js';

/** Single-thread engine on the current tfjs backend; `model` is the live model it trains. */
export interface LocalEngine extends TrainingEngine {
  readonly model: tf.LayersModel;
}

export function createLocalEngine(options: EngineOptions): LocalEngine {
  const { spec, seed } = options;
  const model = buildModel(spec, seed);
  const optimizer = createOptimizer(options.optimizer);
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  let steps = 0;
  let disposed = false;

  return {
    spec,
    model,
    async step(batch) {
      if (disposed) throw new Error('engine is disposed');
      assertBatch(spec, batch);
      const step = steps++;
      let logits: tf.Tensor2D | undefined;
      const { loss, correct } = tf.tidy(() => {
        const [h, w, c] = spec.inputShape;
        const x = tf.tensor4d(batch.x, [batch.n, h, w, c], 'int32').toFloat();
        const y = tf.tensor1d(batch.y, 'int32');
        const sw = batch.weights ? tf.tensor1d(batch.weights, 'float32') : undefined;
        const { value, grads } = tf.variableGrads(() => {
          const out = forward(model, x, {
            training: true,
            dropout: true,
            dropoutSeed: (layer) => `${seed}:${step}:${layer}`,
          }) as tf.Tensor2D;
          logits = tf.keep(out);
          return weightedCrossEntropy(out, y, sw);
        }, variables);
        optimizer.applyGradients(grads);
        const hits = tf.equal(tf.argMax(logits!, 1).toInt(), y).sum();
        return { loss: value, correct: hits };
      });
      logits?.dispose();
      const [lossValue, correctValue] = await Promise.all([loss.data(), correct.data()]);
      loss.dispose();
      correct.dispose();
      return { loss: lossValue[0]!, accuracy: correctValue[0]! / batch.n } satisfies StepResult;
    },
    async getWeights() {
      // Copies: on some backends data() hands out the variable's own storage.
      return Promise.all(model.getWeights().map(async (t) => new Float32Array(await t.data())));
    },
    async setWeights(weights) {
      setModelWeights(model, weights);
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      optimizer.dispose();
      model.dispose();
    },
  };
}

/** Copies flat weight arrays (model.getWeights() order) into a model. */
export function setModelWeights(model: tf.LayersModel, weights: Float32Array[]): void {
  const current = model.getWeights();
  if (weights.length !== current.length) {
    throw new InvalidArgumentError(`expected ${current.length} weight arrays, got ${weights.length}`);
  }
  const tensors = current.map((t, i) => {
    if (weights[i]!.length !== t.size) {
      throw new InvalidArgumentError(`weight ${i} needs ${t.size} values, got ${weights[i]!.length}`);
    }
    return tf.tensor(weights[i]!, t.shape, 'float32');
  });
  model.setWeights(tensors);
  tensors.forEach((t) => t.dispose());
}

function assertBatch(spec: ModelSpec, batch: TrainBatch): void {
  const [h, w, c] = spec.inputShape;
  const { n } = batch;
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`batch size must be ≥ 1, got ${n}`);
  if (batch.x.length !== n * h * w * c) {
    throw new InvalidArgumentError(`batch x needs ${n}·${h}·${w}·${c} = ${n * h * w * c} bytes, got ${batch.x.length}`);
  }
  if (batch.y.length !== n) throw new InvalidArgumentError(`batch y needs ${n} labels, got ${batch.y.length}`);
  if (batch.weights && batch.weights.length !== n) {
    throw new InvalidArgumentError(`batch weights need ${n} values, got ${batch.weights.length}`);
  }
  for (const label of batch.y) {
    if (!(label >= 0 && label < spec.numClasses)) {
      throw new InvalidArgumentError(`label ${label} is outside [0, ${spec.numClasses})`);
    }
  }
}
