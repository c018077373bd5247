// Chooses the tfjs backend once per process: @tensorflow/tfjs-node-gpu when it loads and sees a
// GPU, else @tensorflow/tfjs-node, else wasm (SIMD) with labelloop's kernels. The tfjs-node
// packages download libtensorflow when installed, so they are optional: loaded by name at run
// time, never listed as dependencies. TFJS_BACKEND forces one.
import * as tf from '@tensorflow/tfjs';
import { createLogger, FailedPreconditionError, InvalidArgumentError, type Logger } from '@labelloop/common';
import { useWasmBackend } from './wasm-backend.js';

export const BACKEND_NAMES = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export interface BackendInfo {
  name: BackendName;
  /** Why this backend: forced, or what the ones before it in the order lacked. */
  reason: string;
}

export interface InitBackendOptions {
  /** Start the search here (later ones are fallbacks); TFJS_BACKEND overrides it. */
  prefer?: BackendName;
  logger?: Logger;
  /** Where TFJS_BACKEND is read (default process.env). */
  env?: Record<string, string | undefined>;
}


const GPU_PACKAGE = '@tensorflow/tfjs-node-gpu';
const CPU_PACKAGE = '@tensorflow/tfjs-node';

let current: BackendInfo | undefined;
/** What the call that chose `current` asked for (so asking again does not search again). */
let currentRequest: BackendName | undefined;
/** Calls run one after the other: two concurrent first calls must not both set up backends. */
let queue: Promise<unknown> = Promise.resolve();

/** The backend chosen by initBackend, if it has run. */
export function currentBackend(): BackendInfo | undefined {
  return current;
}

/**
 * Sets up the tfjs backend and returns which one and why. Idempotent: once a backend is up, a
 * call asking for nothing new returns it; asking for another one (prefer, TFJS_BACKEND)
 * switches to it.
 */
export function initBackend(options: InitBackendOptions = {}): Promise<BackendInfo> {
  const result = queue.then(() => initSerially(options));
  queue = result.catch(() => undefined);
  return result;
}

async function initSerially(options: InitBackendOptions): Promise<BackendInfo> {
  const forced = parseForced(options.env ?? process.env);
  const wanted = forced ?? options.prefer;
  if (current && (wanted === undefined || wanted === current.name || wanted === currentRequest)) return current;
  const chosen = await choose(forced, options.prefer);
  current = chosen;
  currentRequest = wanted;
  const logger = options.logger ?? createLogger({ service: 'labelloop-ml' });
  logger.info({ backend: chosen.name, reason: chosen.reason, tfBackend: tf.getBackend() }, 'tfjs backend selected');
  return chosen;
}

function parseForced(env: Record<string, string | undefined>): BackendName | undefined {
  const value = env['TFJS_BACKEND']?.trim();
  if (!value) return undefined;
  if (!(BACKEND_NAMES as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`TFJS_BACKEND must be one of ${BACKEND_NAMES.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as BackendName;
}

async function choose(forced: BackendName | undefined, prefer: BackendName | undefined): Promise<BackendInfo> {
  if (forced) {
    const failure = await tryBackend(forced);
    if (failure) throw new FailedPreconditionError(`TFJS_BACKEND=${forced} cannot be used: ${failure}`);
    return { name: forced, reason: 'forced by TFJS_BACKEND' };
  }
  const order = BACKEND_NAMES.slice(BACKEND_NAMES.indexOf(prefer ?? 'tensorflow-gpu'));
  const skipped: string[] = [];
  for (const name of order) {
    const failure = await tryBackend(name);
    if (!failure) {
      const first = prefer ? `preferred ${prefer}` : 'auto';
      return { name, reason: skipped.length === 0 ? first : `${first}; ${skipped.join('; ')}` };
    }
    skipped.push(`${name}: ${failure}`);
  }
  throw new FailedPreconditionError(`no tfjs backend could start (${skipped.join('; ')})`);
}

/** Sets up `name`; returns why it cannot be used, or null when it is now the active backend. */
async function tryBackend(name: BackendName): Promise<string | null> {
  switch (name) {
    case 'tensorflow-gpu': {
      const failure = await loadPackage(GPU_PACKAGE);
      if (failure) return failure;
      if (!(await tf.setBackend('tensorflow'))) return `${GPU_PACKAGE} loaded but its backend did not start`;
      const backend = tf.backend() as { isUsingGpuDevice?: boolean };
      if (backend.isUsingGpuDevice !== true) return `${GPU_PACKAGE} loaded but sees no GPU`;
      return null;
    }
    case 'tensorflow': {
      // tfjs-node-gpu registers the same 'tensorflow' backend; without a GPU it runs on the CPU.
      if (!tf.findBackendFactory('tensorflow')) {
        const failure = await loadPackage(CPU_PACKAGE);
        if (failure) return failure;
      }
      return (await tf.setBackend('tensorflow')) ? null : `${CPU_PACKAGE} loaded but its backend did not start`;
    }
    case 'wasm':
      try {
        await useWasmBackend();
        return null;
      } catch (err) {
        return `wasm failed: ${(err as Error).message}`;
      }
    case 'cpu':
      return (await tf.setBackend('cpu')) ? null : 'cpu backend did not start';
  }
}

async function loadPackage(name: string): Promise<string | null> {
  try {
    await import(name);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return `${name} is not installed`;
    return `${name} failed to load: ${(err as Error).message}`;
  }
  // A tfjs-node whose @tensorflow/tfjs-core differs from ours registers its backend elsewhere.
  if (!tf.findBackendFactory('tensorflow')) return `${name} loaded but registered no backend with this @tensorflow/tfjs (version mismatch?)`;
  return null;
}
