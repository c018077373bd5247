// labelloop's wasm MaxPoolGrad, Sum, BatchMatMul, Identity and Cast against the `cpu` backend and
// finite differences.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { originalWasmKernel } from '../src/kernels/register-wasm-kernels.js';
import {
  ErrorLog,
  finiteDifferenceError,
  finiteDifferences,
  onBackend,
  randomValues,
  relativeError,
  weightedSum,
} from './kernels-helpers.js';
import { createRng } from '@labelloop/common';

const TOLERANCE = 1e-4;
const log = new ErrorLog();
after(() => log.print('pool, sum, matMul'));

type Shape4 = [number, number, number, number];

/** Distinct multiples of 1/64 in [-4, 4): x ± 1/512 is exact in float32 and never changes a window's argmax. */
function distinctGrid(shape: readonly number[], seed: number): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const values = Float32Array.from({ length: n }, (_, i) => (i - n / 2) / 64);
  return createRng(seed).shuffle(values);
}

describe('MaxPoolGrad', () => {
  const cases: Array<{ x: Shape4; filter: number; stride: number; pad: 'valid' | 'same' }> = [
    { x: [2, 8, 8, 3], filter: 2, stride: 2, pad: 'valid' },
    { x: [2, 7, 7, 3], filter: 2, stride: 2, pad: 'valid' },
    { x: [2, 7, 7, 3], filter: 2, stride: 2, pad: 'same' },
    { x: [2, 9, 9, 3], filter: 3, stride: 2, pad: 'valid' },
    { x: [2, 10, 10, 3], filter: 3, stride: 2, pad: 'same' },
    { x: [2, 8, 8, 2], filter: 3, stride: 1, pad: 'same' },
    { x: [2, 9, 9, 2], filter: 1, stride: 2, pad: 'valid' },
  ];
  for (const c of cases) {
    const outShape = tf.backend_util.computePool2DInfo(c.x, c.filter, c.stride, 1, c.pad).outShape;
    const r = randomValues(outShape, 3);
    const grad = (xv: Float32Array) => (): tf.Tensor =>
      tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(v as tf.Tensor4D, c.filter, c.stride, c.pad), tf.tensor(r, outShape))))(tf.tensor4d(xv, c.x));

    it(`${c.filter}×${c.filter} stride ${c.stride} ${c.pad} on ${c.x.join('×')}: matches cpu and finite differences`, async () => {
      const x = distinctGrid(c.x, 1);
      const expected = await onBackend('cpu', grad(x));
      const actual = await onBackend('wasm', grad(x));
      const cpuError = relativeError(actual, expected);
      log.record('MaxPoolGrad vs cpu', cpuError);
      assert.ok(cpuError <= TOLERANCE, `vs cpu: ${cpuError}`);
      const fd = finiteDifferences(x, (xv) => weightedSum(() => tf.maxPool(tf.tensor4d(xv, c.x), c.filter, c.stride, c.pad), r), 1 / 512, 24, 2);
      const fdError = finiteDifferenceError(actual, fd);
      log.record('MaxPoolGrad vs finite differences', fdError);
      assert.ok(fdError <= TOLERANCE, `vs finite differences: ${fdError}`);
    });

    it(`${c.filter}×${c.filter} stride ${c.stride} ${c.pad}: ties and windows ≤ 0 go to the first max, as on cpu`, async () => {
      // After a ReLU most values are 0: whole windows tie. Negative windows too.
      const x = randomValues(c.x, 4).map((v, i) => (i % 3 === 0 ? -Math.abs(v) : Math.max(0, v)));
      const expected = await onBackend('cpu', grad(x));
      const actual = await onBackend('wasm', grad(x));
      // Overlapping windows add in a different order than on cpu: equal up to rounding.
      const error = relativeError(actual, expected);
      log.record('MaxPoolGrad with ties vs cpu', error);
      assert.ok(error <= 1e-6, `${error}`);
    });
  }

  it('the wasm backend’s own MaxPoolGrad is wrong on windows ≤ 0 (why it is replaced)', async () => {
    const x = tf.tensor4d([-4, -1, -3, -2], [1, 2, 2, 1]);
    await onBackend('wasm', () => tf.zeros([1]));
    const y = tf.maxPool(x, 2, 2, 'valid');
    const dy = tf.ones(y.shape);
    const original = originalWasmKernel(tf.MaxPoolGrad)!;
    const out = original.kernelFunc({
      inputs: { dy, input: x, output: y },
      attrs: { filterSize: 2, strides: 2, pad: 'valid' },
      backend: tf.backend(),
    }) as tf.TensorInfo;
    const native = tf.engine().makeTensorFromTensorInfo(out);
    const ours = tf.grad((v: tf.Tensor) => tf.sum(tf.maxPool(v as tf.Tensor4D, 2, 2, 'valid')))(x);
    assert.deepEqual([...ours.dataSync()], [0, 1, 0, 0]);
    assert.notDeepEqual([...native.dataSync()], [0, 1, 0, 0]);
    tf.dispose([x, y, dy, native, ours]);
  });
});

describe('Sum', () => {
  const shape: Shape4 = [3, 5, 6, 4];
  const x = randomValues(shape, 5);
  const axesCases: Array<[number[], boolean]> = [
    [[0, 1, 2], false],
    [[0, 1, 2], true],
    [[2, 0, 1], false],
    [[1, 2], false],
    [[3], true],
    [[0], false],
  ];
  for (const [axes, keepDims] of axesCases) {
    it(`over axes ${axes} (keepDims ${keepDims}) matches cpu`, async () => {
      const compute = () => tf.sum(tf.tensor4d(x, shape), axes, keepDims);
      const [expected, actual] = [await onBackend('cpu', compute), await onBackend('wasm', compute)];
      const error = relativeError(actual, expected);
      log.record('Sum vs cpu', error);
      assert.ok(error <= TOLERANCE, `${error}`);
    });
  }

  it('over large windows (AlexNet-size 55×55 activations) matches cpu', async () => {
    const big: Shape4 = [2, 55, 55, 8];
    const values = randomValues(big, 9);
    const compute = () => tf.sum(tf.tensor4d(values, big), [0, 1, 2]);
    const error = relativeError(await onBackend('wasm', compute), await onBackend('cpu', compute));
    log.record('Sum vs cpu', error);
    assert.ok(error <= TOLERANCE, `${error}`);
  });

  it('as a conv bias gradient matches finite differences', async () => {
    const bias = randomValues([4], 6);
    const r = randomValues(shape, 7);
    const grad = () => tf.grad((b: tf.Tensor) => tf.sum(tf.mul(tf.add(tf.tensor4d(x, shape), b), tf.tensor4d(r, shape))))(tf.tensor1d(bias));
    const actual = await onBackend('wasm', grad);
    const fd = finiteDifferences(bias, (bv) => weightedSum(() => tf.add(tf.tensor4d(x, shape), tf.tensor1d(bv)), r), 0.25, 4, 8);
    const error = finiteDifferenceError(actual, fd);
    log.record('Sum (bias gradient) vs finite differences', error);
    assert.ok(error <= TOLERANCE, `${error}`);
    assert.ok(relativeError(actual, await onBackend('cpu', grad)) <= TOLERANCE);
  });
});

describe('BatchMatMul', () => {
  const cases: Array<{ a: number[]; b: number[]; transposeA: boolean; transposeB: boolean }> = [
    { a: [5, 7], b: [7, 3], transposeA: false, transposeB: false },
    { a: [7, 5], b: [7, 3], transposeA: true, transposeB: false },
    { a: [5, 7], b: [3, 7], transposeA: false, transposeB: true },
    { a: [7, 5], b: [3, 7], transposeA: true, transposeB: true },
    { a: [2, 7, 5], b: [2, 3, 7], transposeA: true, transposeB: true },
    { a: [2, 5, 7], b: [2, 3, 7], transposeA: false, transposeB: true },
    // Small a, large b: computed as (b·aᵀ)ᵀ, leaving b in place.
    { a: [2, 50], b: [40, 50], transposeA: false, transposeB: true },
    { a: [50, 2], b: [40, 50], transposeA: true, transposeB: true },
  ];
  for (const c of cases) {
    it(`${c.a.join('×')}${c.transposeA ? 'ᵀ' : ''} · ${c.b.join('×')}${c.transposeB ? 'ᵀ' : ''} matches cpu`, async () => {
      const [a, b] = [randomValues(c.a, 9), randomValues(c.b, 10)];
      const compute = () => tf.matMul(tf.tensor(a, c.a), tf.tensor(b, c.b), c.transposeA, c.transposeB);
      const error = relativeError(await onBackend('wasm', compute), await onBackend('cpu', compute));
      log.record('BatchMatMul vs cpu', error);
      assert.ok(error <= TOLERANCE, `${error}`);
    });
  }

  it('dense-layer gradients (transposed products) match cpu and finite differences', async () => {
    const [a, w, r] = [randomValues([6, 8], 11), randomValues([8, 4], 12), randomValues([6, 4], 13)];
    const grads = () => {
      const g = tf.grads((av: tf.Tensor, wv: tf.Tensor) => tf.sum(tf.mul(tf.matMul(av, wv), tf.tensor(r, [6, 4]))));
      return tf.concat(g([tf.tensor(a, [6, 8]), tf.tensor(w, [8, 4])]).map((t) => t.flatten()));
    };
    const actual = await onBackend('wasm', grads);
    const cpuError = relativeError(actual, await onBackend('cpu', grads));
    log.record('BatchMatMul gradients vs cpu', cpuError);
    assert.ok(cpuError <= TOLERANCE, `vs cpu: ${cpuError}`);
    const fdA = finiteDifferences(a, (av) => weightedSum(() => tf.matMul(tf.tensor(av, [6, 8]), tf.tensor(w, [8, 4])), r), 0.25, 8, 14);
    const fdW = finiteDifferences(w, (wv) => weightedSum(() => tf.matMul(tf.tensor(a, [6, 8]), tf.tensor(wv, [8, 4])), r), 0.25, 8, 15);
    const fdError = Math.max(finiteDifferenceError(actual.subarray(0, 48), fdA), finiteDifferenceError(actual.subarray(48), fdW));
    log.record('BatchMatMul gradients vs finite differences', fdError);
    assert.ok(fdError <= TOLERANCE, `vs finite differences: ${fdError}`);
  });
});

describe('Identity', () => {
  it('shares data: a clone reads the same values and outlives its source', async () => {
    await onBackend('wasm', () => tf.zeros([1]));
    const source = tf.tensor([1, 2, 3]);
    const copy = source.clone();
    source.dispose();
    assert.deepEqual([...copy.dataSync()], [1, 2, 3]);
    copy.dispose();
  });
});

describe('Cast', () => {
  it('to the same dtype shares data; to another converts', async () => {
    await onBackend('wasm', () => tf.zeros([1]));
    const source = tf.tensor([1.5, -2, 3]);
    const same = tf.cast(source, 'float32');
    const ints = tf.cast(source, 'int32');
    source.dispose();
    assert.deepEqual([...same.dataSync()], [1.5, -2, 3]);
    assert.deepEqual([...ints.dataSync()], [1, -2, 3]);
    tf.dispose([same, ints]);
  });
});
