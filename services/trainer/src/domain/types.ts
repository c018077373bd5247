// The trainer's domain shapes (plain data; gRPC conversion lives in src/grpc/).
import type { HyperParameters, JobProgress, SplitMetricsJson } from './job/job-types.js';

export type { HyperParameters, SplitMetricsJson };
export type RunStatus = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';
export type RunTrigger = 'API' | 'POLICY' | 'SCHEDULE';
export type SearchStrategy = 'NONE' | 'RANDOM' | 'SUCCESSIVE_HALVING';
export type ModelStatus = 'CANDIDATE' | 'CHAMPION' | 'RETIRED';

export const TERMINAL: ReadonlySet<RunStatus> = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

export interface SearchSettings {
  strategy: SearchStrategy;
  trials: number;
  maxEpochs: number;
  seed: number;
}

/** What a run shows: its job's progress plus, for a search, the trials done so far. */
export interface RunProgress extends Omit<JobProgress, 'phase'> {
  phase: string;
  trialsDone: number;
  trialsTotal: number;
}

export interface TrainingRun {
  id: string;
  datasetId: string;
  status: RunStatus;
  trigger: RunTrigger;
  requestedBy: string;
  hyperParameters: HyperParameters;
  search: SearchSettings;
  seed: number;
  progress: Partial<RunProgress>;
  failureReason: string;
  modelId: string | null;
  attempts: number;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export interface ModelMetrics {
  test: SplitMetricsJson;
  validation: SplitMetricsJson;
}

export interface Model {
  id: string;
  datasetId: string;
  version: number;
  runId: string;
  status: ModelStatus;
  architecture: string;
  classes: string[];
  hyperParameters: HyperParameters;
  temperature: number;
  metrics: ModelMetrics;
  snapshotKey: string;
  snapshotCreatedAt: Date;
  artifactPrefix: string;
  newItems: number;
  replayedItems: number;
  /** Human-labelled items (any split) up to the snapshot's label watermark. */
  humanLabels: number;
  promotionDecision: string;
  backend: string;
  createdAt: Date;
  promotedAt: Date | null;
  previousChampionId: string | null;
}

export interface RetrainPolicy {
  datasetId: string;
  /** Start a run after this many new human labels; 0 = off. */
  everyHumanLabels: number;
  replayRatio: number;
  promotionTolerance: number;
  maxRecallDrop: number;
}
