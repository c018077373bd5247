// labelloop's kernels are what the wasm backend runs, and a whole CNN's gradients on wasm match
// the cpu backend's — the kernels as tf.layers and model.fit use them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { useWasmBackend } from '../src/backend/wasm-backend.js';
import { labelloopWasmKernels, originalWasmKernel, registerWasmKernels } from '../src/kernels/register-wasm-kernels.js';
import { onBackend, randomValues, relativeError } from './kernels-helpers.js';

function smallCnn(): tf.Sequential {
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [12, 12, 2], filters: 6, kernelSize: 3, activation: 'relu', kernelInitializer: init(1) }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(2) }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 5, kernelInitializer: init(3) }),
    ],
  });
}

describe('wasm kernel registration', () => {
  it('replaces the listed kernels once, keeping the originals', async () => {
    await useWasmBackend();
    registerWasmKernels();
    for (const name of labelloopWasmKernels) {
      const active = tf.getKernel(name, 'wasm');
      assert.ok(active, `${name} is registered`);
      if (name !== tf.Conv2DBackpropFilter) assert.notEqual(active.kernelFunc, originalWasmKernel(name)?.kernelFunc, name);
    }
  });

  it('gives a small CNN the same gradients on wasm as on cpu', async () => {
    const x = randomValues([3, 12, 12, 2], 1);
    const labels = tf.tensor1d([0, 3, 4], 'int32');
    const grads = () => {
      const model = smallCnn();
      const { grads: g } = tf.variableGrads(() =>
        tf.losses.softmaxCrossEntropy(tf.oneHot(labels, 5), model.apply(tf.tensor4d(x, [3, 12, 12, 2])) as tf.Tensor),
      );
      const flat = tf.concat(model.trainableWeights.map((w) => g[w.originalName]!.flatten()));
      model.dispose();
      return flat;
    };
    const error = relativeError(await onBackend('wasm', grads), await onBackend('cpu', grads));
    assert.ok(error <= 1e-4, `${error}`);
  });

  it('lets model.fit train a CNN on wasm', async () => {
    await useWasmBackend();
    const model = smallCnn();
    // The model outputs logits.
    model.compile({ optimizer: tf.train.adam(0.01), loss: (yTrue, yPred) => tf.losses.softmaxCrossEntropy(yTrue, yPred) });
    const x = tf.tensor4d(randomValues([16, 12, 12, 2], 2), [16, 12, 12, 2]);
    const y = tf.oneHot(tf.tensor1d(Array.from({ length: 16 }, (_, i) => i % 5), 'int32'), 5);
    const history = await model.fit(x, y, { epochs: 8, batchSize: 16, verbose: 0 });
    const losses = history.history['loss'] as number[];
    assert.ok(losses.at(-1)! < losses[0]!, `loss ${losses[0]} → ${losses.at(-1)}`);
    tf.dispose([x, y]);
    model.dispose();
  });
});
