// The contract every training engine implements (single thread, worker threads, ...):
// the training loop takes any TrainingEngine.
import type { ModelSpec } from '../models/model-spec.js';

export type OptimizerName = 'sgd' | 'momentum' | 'adam' | 'rmsprop';

export interface OptimizerConfig {
  name: OptimizerName;
  learningRate: number;
  /** Momentum for 'momentum' (default 0.9) and 'rmsprop' (default 0). */
  momentum?: number;
}

/** One batch of uint8 NHWC images: x holds n·h·w·c bytes, y the class indices, weights optional per-sample weights. */
export interface TrainBatch {
  x: Uint8Array;
  y: Int32Array;
  weights?: Float32Array;
  n: number;
}

export interface StepResult {
  /** Weighted mean cross-entropy of the batch (before the update). */
  loss: number;
  /** Fraction of the batch predicted correctly (before the update). */
  accuracy: number;
}

export interface TrainingEngine {
  readonly spec: ModelSpec;
  /** One optimizer step on the batch. */
  step(batch: TrainBatch): Promise<StepResult>;
  /** All model weights (trainable and not, e.g. batch-norm statistics) in model.getWeights() order. */
  getWeights(): Promise<Float32Array[]>;
  setWeights(w: Float32Array[]): Promise<void>;
  dispose(): Promise<void>;
}

export interface EngineOptions {
  spec: ModelSpec;
  optimizer: OptimizerConfig;
  seed: number;
}
