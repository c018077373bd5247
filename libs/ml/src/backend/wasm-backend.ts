// The wasm backend, set up offline: its .wasm binaries are read from the installed package
// (nothing fetched), and labelloop's kernels are registered before it starts.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { registerWasmKernels } from '../kernels/register-wasm-kernels.js';

let pathsSet = false;

/** Makes `wasm` the active tfjs backend, with labelloop's kernels. Safe to call repeatedly. */
export async function useWasmBackend(): Promise<void> {
  registerWasmKernels();
  if (!pathsSet) {
    const packageJson = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json');
    setWasmPaths(`${join(dirname(packageJson), 'dist')}/`);
    pathsSet = true;
  }
  if (tf.getBackend() === 'wasm') return;
  if (!(await tf.setBackend('wasm'))) throw new Error('the tfjs wasm backend failed to start');
}
