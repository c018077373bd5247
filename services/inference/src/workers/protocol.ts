// Messages between the predict pool (main thread) and its worker threads. Each worker holds the
// tfjs backend and a copy of every loaded model, keyed by the model's artifact prefix.
import type { DomainErrorKind } from '@labelloop/common';
import type { BackendName, ModelSidecar } from '@labelloop/ml';

export interface WorkerInit {
  index: number;
  /** The backend the main thread chose, so every worker runs the same one. */
  backend: BackendName;
}

export interface PredictOptions {
  temperature: number;
  /** Stochastic forward passes with dropout on (MC dropout); 0 = none. */
  mcSamples: number;
  embeddings: boolean;
  seed?: number;
}

/** Main → worker. */
export type Request =
  | { type: 'load'; id: number; key: string }
  | { type: 'unload'; id: number; key: string }
  | { type: 'predict'; id: number; key: string; images: Uint8Array; n: number; options: PredictOptions }
  /** The answer to a worker's BlobRequest. */
  | { type: 'blob'; id: number; bytes?: Uint8Array; error?: SerializedError };

export interface SerializedError {
  message: string;
  /** Set for DomainErrors, so the status code survives the thread boundary. */
  kind?: DomainErrorKind;
}

/** Worker → main: flat arrays, row-major, ready to be transferred. */
export interface PredictReply {
  /** n × classes calibrated probabilities. */
  probabilities: Float32Array;
  /** n × mcSamples × classes, when asked for. */
  mcSamples?: Float32Array;
  /** n × embeddingSize, when asked for. */
  embeddings?: Float32Array;
  embeddingSize: number;
}

export type WorkerMessage =
  | { kind: 'ready'; backend: string }
  | { kind: 'reply'; id: number; ok: true; sidecar?: ModelSidecar; predict?: PredictReply }
  | { kind: 'reply'; id: number; ok: false; error: SerializedError }
  /** The worker reads artifact objects through the main thread, which downloads each once for all workers. */
  | { kind: 'blob'; id: number; key: string };
