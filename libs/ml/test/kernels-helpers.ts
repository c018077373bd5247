// Shared by the kernels-*.test.ts files: run the same computation on the `cpu` backend (the
// reference tfjs ships) and on `wasm` with labelloop's kernels, and finite differences.
import * as tf from '@tensorflow/tfjs';
import { useWasmBackend } from '../src/backend/wasm-backend.js';
import { createRng } from '@labelloop/common';

export type Backend = 'cpu' | 'wasm';

export async function onBackend(backend: Backend, compute: () => tf.Tensor): Promise<Float32Array> {
  if (backend === 'wasm') await useWasmBackend();
  else await tf.setBackend('cpu');
  const t = tf.tidy(compute);
  const values = (await t.data()) as Float32Array;
  t.dispose();
  return Float32Array.from(values);
}

/** Uniform values in [-1, 1) from a seed. */
export function randomValues(shape: readonly number[], seed: number): Float32Array {
  const rng = createRng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return Float32Array.from({ length: n }, () => rng.uniform(-1, 1));
}

/** max |a − b| / max |b|: the error relative to the reference's scale. */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} ≠ ${expected.length}`);
  let scale = 0;
  let diff = 0;
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]!));
    diff = Math.max(diff, Math.abs(actual[i]! - expected[i]!));
  }
  return scale === 0 ? diff : diff / scale;
}

/**
 * Central finite differences of `loss` (evaluated on the current backend, summed in float64)
 * at `count` coordinates of `values` picked by a seed. Returns the coordinates and estimates.
 */
export function finiteDifferences(
  values: Float32Array,
  loss: (v: Float32Array) => number,
  epsilon: number,
  count: number,
  seed: number,
): { index: number[]; estimate: number[] } {
  const rng = createRng(seed);
  const index = Array.from({ length: Math.min(count, values.length) }, () => rng.int(values.length));
  const estimate = index.map((i) => {
    const plus = Float32Array.from(values);
    const minus = Float32Array.from(values);
    plus[i]! += epsilon;
    minus[i]! -= epsilon;
    return (loss(plus) - loss(minus)) / (2 * epsilon);
  });
  return { index, estimate };
}

/** Σ t·weights in float64 (t computed, read back and disposed). */
export function weightedSum(compute: () => tf.Tensor, weights: Float32Array): number {
  const t = tf.tidy(compute);
  const values = t.dataSync();
  t.dispose();
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]! * weights[i]!;
  return sum;
}

/** Worst error of the sampled gradient entries relative to the gradient's scale. */
export function finiteDifferenceError(gradient: Float32Array, fd: { index: number[]; estimate: number[] }): number {
  let scale = 0;
  for (const g of gradient) scale = Math.max(scale, Math.abs(g));
  let diff = 0;
  fd.index.forEach((i, k) => (diff = Math.max(diff, Math.abs(gradient[i]! - fd.estimate[k]!))));
  return diff / scale;
}

/** Worst errors seen, printed at the end of a test file so the figures can be reported. */
export class ErrorLog {
  private readonly worst = new Map<string, number>();
  record(kind: string, error: number): void {
    this.worst.set(kind, Math.max(this.worst.get(kind) ?? 0, error));
  }
  print(title: string): void {
    const parts = [...this.worst].map(([k, v]) => `${k} ${v.toExponential(1)}`);
    console.log(`# ${title}: worst relative error — ${parts.join(', ')}`);
  }
}
