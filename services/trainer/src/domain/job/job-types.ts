// The training job's contract with the rest of the trainer (runs, queue, checkpoints live in CORE).
import type { Logger } from '@labelloop/common';
import type { BatchProgress } from '@labelloop/ml';
import type { BlobStore } from '@labelloop/storage';
import type { DatasetReader } from '../../adapters/dataset-reader.js';

export type OptimizerName = 'sgd' | 'momentum' | 'adam' | 'rmsprop';

export interface HyperParameters {
  optimizer: OptimizerName;
  learningRate: number;
  epochs: number;
  momentum: number;
  batchSize: number;
}

/** The dataset's current champion, whose snapshot decides which labels are new. */
export interface ChampionRef {
  modelId: string;
  /** The champion's JobResult.snapshotCreatedAt: labels after it are new. */
  snapshotCreatedAt: Date;
  snapshotKey: string;
}

export interface JobInput {
  runId: string;
  datasetId: string;
  /** The model version to create: the artifact goes to models/<datasetId>/<version>/. */
  version: number;
  hyperParameters: HyperParameters;
  seed: number;
  /** Absent for the dataset's first model: then every labelled item is used. */
  champion?: ChampionRef;
  /** Share (0..1) of the older labelled train items replayed in a retrain. */
  replayRatio: number;
  /**
   * Set for one trial of a hyper-parameter search (runTrialJob): snapshot, train, evaluate on
   * validation only; the manifest lives under models/<datasetId>/runs/<runId>/trials/<trialId>/
   * and no artifact is written, so trials never clobber each other or use a model version.
   */
  trial?: { trialId: string };
}

/** 'snapshot': choosing items and loading their images (before any training). */
export type JobPhase = 'snapshot' | 'training' | 'evaluating' | 'saving';

/** libs/ml's batch progress, tagged with the job's phase. */
export interface JobProgress extends Omit<BatchProgress, 'kind'> {
  phase: JobPhase;
}

export interface JobCheckpoint {
  /** The last finished epoch (from 1). */
  epoch: number;
  weights: Float32Array[];
}

export interface JobHooks {
  onProgress(progress: JobProgress): void;
  /** Aborting stops the job within one batch; the job then rejects with JobCancelledError. */
  signal: AbortSignal;
  checkpoint: {
    load(): Promise<JobCheckpoint | undefined>;
    save(epoch: number, weights: Float32Array[]): Promise<void>;
  };
}

export interface ClassMetricsJson {
  className: string;
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface SplitMetricsJson {
  split: 'test' | 'validation';
  accuracy: number;
  macroF1: number;
  perClass: ClassMetricsJson[];
  /** Row-major k×k, rows = true class. */
  confusionMatrix: number[];
  eceBefore: number;
  eceAfter: number;
  items: number;
}

export interface JobResult {
  architecture: string;
  classes: string[];
  temperature: number;
  metrics: { test: SplitMetricsJson; validation: SplitMetricsJson };
  /** models/<datasetId>/<version>/snapshot.jsonl */
  snapshotKey: string;
  /**
   * The newest labeledAt among the snapshot's items (the label watermark, on the dataset's clock):
   * store it as this model's snapshotCreatedAt, so a retrain against it treats later labels as new.
   */
  snapshotCreatedAt: Date;
  /** models/<datasetId>/<version>/ */
  artifactPrefix: string;
  newItems: number;
  replayedItems: number;
  /** Human-labelled items of the dataset (any split) labelled up to snapshotCreatedAt. */
  humanLabels: number;
  /** Items read but not used: undecodable images, unknown classes, no split. */
  skippedItems: number;
  backend: string;
  /** Epochs actually trained (early stopping may end before hyperParameters.epochs). */
  epochsTrained: number;
}

/** What a search trial reports: validation only (the test split is kept for the final model). */
export interface TrialJobResult {
  classes: string[];
  temperature: number;
  validation: SplitMetricsJson;
  /** models/<datasetId>/runs/<runId>/trials/<trialId>/snapshot.jsonl */
  snapshotKey: string;
  backend: string;
  epochsTrained: number;
}

export interface JobDeps {
  dataset: DatasetReader;
  blobs: BlobStore;
  logger: Logger;
  /** Worker threads of the parallel engine (wasm); default: the engine's choice (cores). */
  workers?: number;
}

/** The job stopped because hooks.signal was aborted. `name` is 'AbortError' so generic checks see it too. */
export class JobCancelledError extends Error {
  constructor(message = 'training job cancelled') {
    super(message);
    this.name = 'AbortError';
  }
}
