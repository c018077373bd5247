// What the parallel engine's main thread and its worker threads share: the messages, and the
// SharedArrayBuffer layout through which gradients are averaged without passing the main thread.
import type { ModelSpec } from '../models/model-spec.js';
import type { BackendName } from '../backend/init-backend.js';
import type { OptimizerConfig } from './types.js';

export interface WorkerInit {
  spec: ModelSpec;
  optimizer: OptimizerConfig;
  seed: number;
  index: number;
  workers: number;
  backend: BackendName;
}

/** Sizes a replica reports once built, so the main thread can size the shared buffers. */
export interface ReplicaShape {
  /** Trainable parameters (gradient length). */
  params: number;
  /** Non-trainable values (batch-norm moving statistics), averaged after each step. */
  stats: number;
}

export interface SharedBuffers {
  control: SharedArrayBuffer;
  /** Float32 [2 (step parity)][workers][params]: each worker's gradient, scaled by its share of the batch. */
  grads: SharedArrayBuffer;
  /** Float32 [workers][stats]. */
  stats: SharedArrayBuffer;
}

export type Request =
  | { id: number; type: 'buffers'; buffers: SharedBuffers }
  | {
      id: number;
      type: 'step';
      step: number;
      /** This worker's rows [offset, offset + n) of a batch of `total` images. */
      offset: number;
      total: number;
      n: number;
      x: Uint8Array;
      y: Int32Array;
      weights?: Float32Array;
    }
  | { id: number; type: 'predict'; x: Uint8Array; n: number; batchSize: number }
  | { id: number; type: 'getWeights' }
  | { id: number; type: 'setWeights'; weights: Float32Array[] }
  | { id: number; type: 'dispose' };

export type Reply =
  | {
      id: number;
      ok: true;
      loss?: number;
      correct?: number;
      weights?: Float32Array[];
      shape?: ReplicaShape;
      /** n·classes logits. */
      logits?: Float32Array;
    }
  | { id: number; ok: false; error: string; sibling?: boolean };

// control: Int32Array slots.
export const GENERATION = 0;
export const ARRIVED = 1;
/** Set by a worker whose step failed: the others skip the update. The main thread clears it. */
export const FAILED = 2;
/** Set by the main thread when a worker died: waiting workers give up. */
export const ABORTED = 3;
export const CONTROL_SLOTS = 4;

/**
 * Blocks until all `workers` threads arrived (generation-counting barrier on Atomics).
 * Throws if the main thread aborted (a sibling died and will never arrive).
 */
export function barrier(control: Int32Array, workers: number): void {
  const generation = Atomics.load(control, GENERATION);
  if (Atomics.add(control, ARRIVED, 1) === workers - 1) {
    Atomics.store(control, ARRIVED, 0);
    Atomics.add(control, GENERATION, 1);
    Atomics.notify(control, GENERATION);
    return;
  }
  while (Atomics.load(control, GENERATION) === generation) {
    if (Atomics.load(control, ABORTED) !== 0) throw new Error('parallel engine aborted: a worker thread died');
    Atomics.wait(control, GENERATION, generation, 1000);
  }
}
