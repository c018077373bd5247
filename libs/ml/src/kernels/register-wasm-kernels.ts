// Registers labelloop's kernels for the tfjs `wasm` backend: the one it lacks
// (Conv2DBackpropFilter, without which no convolution can train there) and faster
// replacements for the gradient kernels that a CNN's training step spends its time in
// (bench/README.md, train-throughput). Layers models and model.fit are unaffected otherwise.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { batchMatMulConfig } from './batch-mat-mul.js';
import { conv2dBackpropFilterConfig } from './conv2d-backprop-filter.js';
import { conv2dBackpropInputConfig } from './conv2d-backprop-input.js';
import { castConfig, identityConfig } from './share-data.js';
import { maxPoolGradConfig } from './max-pool-grad.js';
import { sumConfig } from './sum.js';

const BACKEND = 'wasm';

const REGISTERED = Symbol.for('labelloop.wasmKernelsRegistered');

/** The wasm backend's own kernels that were replaced, by kernel name. */
const replaced = new Map<string, tf.KernelConfig>();

/** Names of the kernels labelloop registers for wasm. */
export const labelloopWasmKernels: readonly string[] = [
  tf.Conv2DBackpropFilter,
  tf.Conv2DBackpropInput,
  tf.MaxPoolGrad,
  tf.BatchMatMul,
  tf.Sum,
  tf.Identity,
  tf.Cast,
];

function replace(name: string, make: (original: tf.KernelConfig | undefined) => tf.KernelConfig): void {
  const original = tf.getKernel(name, BACKEND);
  if (original) {
    replaced.set(name, original);
    tf.unregisterKernel(name, BACKEND);
  }
  const config = make(original);
  // The backend's setupFunc (binding its wasm functions) must still run for a wrapped kernel.
  tf.registerKernel(original?.setupFunc && !config.setupFunc ? { ...config, setupFunc: original.setupFunc } : config);
}

/**
 * Registers the kernels once per process (later calls do nothing). Call it before the wasm
 * backend is first set up, so the wrapped kernels' setup functions run with it; calling it
 * afterwards works too, since the backend's own setup has run already.
 */
export function registerWasmKernels(): void {
  // Marked on globalThis: a second copy of this module (source and dist both loaded) must not
  // wrap the wrappers.
  const registry = globalThis as { [REGISTERED]?: boolean };
  if (registry[REGISTERED]) return;
  registry[REGISTERED] = true;
  replace(tf.Conv2DBackpropFilter, () => conv2dBackpropFilterConfig);
  replace(tf.Conv2DBackpropInput, (original) => conv2dBackpropInputConfig(original));
  replace(tf.MaxPoolGrad, () => maxPoolGradConfig);
  replace(tf.BatchMatMul, (original) => batchMatMulConfig(required(original, tf.BatchMatMul)));
  replace(tf.Sum, (original) => sumConfig(required(original, tf.Sum)));
  replace(tf.Identity, (original) => identityConfig(required(original, tf.Identity)));
  replace(tf.Cast, (original) => castConfig(required(original, tf.Cast)));
}

/** The backend's own kernel for `name`, as it was before labelloop replaced it (tests compare both). */
export function originalWasmKernel(name: string): tf.KernelConfig | undefined {
  return replaced.get(name) ?? tf.getKernel(name, BACKEND);
}

function required(config: tf.KernelConfig | undefined, name: string): tf.KernelConfig {
  if (!config) throw new Error(`tfjs-backend-wasm has no ${name} kernel to wrap`);
  return config;
}
