// labelloop's wasm convolution gradients against the `cpu` backend and finite differences.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { conv2dBackpropFilter, type FilterGradMethod } from '../src/kernels/conv2d-backprop-filter.js';
import {
  ErrorLog,
  finiteDifferenceError,
  finiteDifferences,
  onBackend,
  randomValues,
  relativeError,
  weightedSum,
} from './kernels-helpers.js';

const TOLERANCE = 1e-4;
// The loss Σ conv(x, W)·R is linear in W and in x, so central differences are exact for any
// step; a large step keeps float32 rounding of the forward pass out of the estimate.
const EPSILON = 0.25;

type Shape4 = [number, number, number, number];
interface Case {
  x: Shape4;
  filter: Shape4;
  stride: number;
  pad: 'valid' | 'same';
}

const cases: Case[] = [
  { x: [2, 7, 7, 1], filter: [3, 3, 1, 4], stride: 1, pad: 'valid' },
  { x: [2, 7, 7, 3], filter: [3, 3, 3, 5], stride: 1, pad: 'same' },
  { x: [3, 8, 8, 3], filter: [3, 3, 3, 5], stride: 2, pad: 'same' },
  { x: [2, 9, 9, 3], filter: [3, 3, 3, 5], stride: 2, pad: 'valid' },
  { x: [2, 6, 6, 4], filter: [1, 1, 4, 3], stride: 1, pad: 'valid' },
  { x: [2, 7, 7, 4], filter: [1, 1, 4, 3], stride: 2, pad: 'same' },
  { x: [2, 9, 9, 2], filter: [5, 5, 2, 3], stride: 1, pad: 'same' },
  { x: [2, 10, 10, 2], filter: [5, 5, 2, 3], stride: 2, pad: 'valid' },
  { x: [2, 27, 27, 3], filter: [11, 11, 3, 4], stride: 4, pad: 'valid' },
  { x: [2, 26, 26, 3], filter: [11, 11, 3, 4], stride: 4, pad: 'same' },
];

const log = new ErrorLog();
after(() => log.print('conv2d gradients'));

function outShape(c: Case): Shape4 {
  const info = tf.backend_util.computeConv2DInfo(c.x, c.filter, c.stride, 1, c.pad);
  return info.outShape as Shape4;
}

for (const c of cases) {
  const name = `x ${c.x.join('×')}, filter ${c.filter.join('×')}, stride ${c.stride}, ${c.pad}`;
  describe(name, () => {
    const x = randomValues(c.x, 1);
    const w = randomValues(c.filter, 2);
    const r = randomValues(outShape(c), 3);
    const dW = (): tf.Tensor =>
      tf.grad((f: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(tf.tensor4d(x, c.x), f as tf.Tensor4D, c.stride, c.pad), tf.tensor(r, outShape(c)))))(
        tf.tensor4d(w, c.filter),
      );
    const dX = (): tf.Tensor =>
      tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(v as tf.Tensor4D, tf.tensor4d(w, c.filter), c.stride, c.pad), tf.tensor(r, outShape(c)))))(
        tf.tensor4d(x, c.x),
      );

    it('filter gradient matches cpu and finite differences', async () => {
      const expected = await onBackend('cpu', dW);
      const actual = await onBackend('wasm', dW);
      const cpuError = relativeError(actual, expected);
      log.record('dW vs cpu', cpuError);
      assert.ok(cpuError <= TOLERANCE, `dW vs cpu: ${cpuError}`);
      const fd = finiteDifferences(w, (wv) => weightedSum(() => tf.conv2d(tf.tensor4d(x, c.x), tf.tensor4d(wv, c.filter), c.stride, c.pad), r), EPSILON, 12, 4);
      const fdError = finiteDifferenceError(actual, fd);
      log.record('dW vs finite differences', fdError);
      assert.ok(fdError <= TOLERANCE, `dW vs finite differences: ${fdError}`);
    });

    for (const method of ['swap', 'im2col'] satisfies FilterGradMethod[]) {
      it(`filter gradient by ${method} matches cpu`, async () => {
        const expected = await onBackend('cpu', dW);
        const actual = await onBackend('wasm', () =>
          conv2dBackpropFilter(tf.tensor4d(x, c.x), tf.tensor4d(r, outShape(c)), { strides: c.stride, pad: c.pad, dataFormat: 'NHWC', filterShape: c.filter }, method),
        );
        const error = relativeError(actual, expected);
        log.record(`dW ${method} vs cpu`, error);
        assert.ok(error <= TOLERANCE, `dW ${method} vs cpu: ${error}`);
      });
    }

    it('input gradient matches cpu and finite differences', async () => {
      const expected = await onBackend('cpu', dX);
      const actual = await onBackend('wasm', dX);
      const cpuError = relativeError(actual, expected);
      log.record('dX vs cpu', cpuError);
      assert.ok(cpuError <= TOLERANCE, `dX vs cpu: ${cpuError}`);
      const fd = finiteDifferences(x, (xv) => weightedSum(() => tf.conv2d(tf.tensor4d(xv, c.x), tf.tensor4d(w, c.filter), c.stride, c.pad), r), EPSILON, 12, 5);
      const fdError = finiteDifferenceError(actual, fd);
      log.record('dX vs finite differences', fdError);
      assert.ok(fdError <= TOLERANCE, `dX vs finite differences: ${fdError}`);
    });
  });
}
