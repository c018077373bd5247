import type { AcquisitionStrategy, LabelSource, Split } from '../types.js';

// Scoring jobs: a promoted model's predictions over a dataset, recorded shard by shard by the
// inference replicas, then finalized into auto-labels, audits and the review queue.

export type ScoringStatus = 'RUNNING' | 'FINALIZING' | 'SUCCEEDED' | 'SUPERSEDED' | 'FAILED';

/**
 * What an item is to a scoring, from its state at the time:
 * - pool: no human or import label (a model label does not count) and not excluded;
 * - calibration: validation split with a human or import label;
 * - labelled: train or test split with a human or import label.
 */
export type ScoringKind = 'pool' | 'calibration' | 'labelled';

/** undefined: excluded (or a trusted label without a split, which cannot happen). */
export function scoringKindOf(state: {
  labelSource: LabelSource | null;
  split: Split | null;
  excluded: boolean;
}): ScoringKind | undefined {
  if (state.excluded) return undefined;
  if (state.labelSource === null || state.labelSource === 'model') return 'pool';
  if (state.split === 'validation') return 'calibration';
  if (state.split === 'train' || state.split === 'test') return 'labelled';
  return undefined;
}

export interface ThresholdEntry {
  /** '' for a global threshold. */
  className: string;
  threshold: number;
  accepted: number;
  errors: number;
  errorUpperBound: number;
}

/** A finalized job's outcome (scoring_jobs.decision, jsonb). */
export interface AutoLabelDecision {
  modelVersion: number;
  /** '' when no threshold qualified. */
  scope: 'global' | 'per_class' | '';
  thresholds: ThresholdEntry[];
  calibrationItems: number;
  thresholdsTried: number;
  /** The ε used: the dataset's target × its error scale. */
  targetError: number;
  confidence: number;
  autoLabelled: number;
  poolItems: number;
  auditItems: number;
  suspectedLabelErrors: number;
  /** Why this outcome (empty-handed or not). */
  reason: string;
}

export interface ScoringJob {
  id: string;
  datasetId: string;
  modelId: string;
  modelVersion: number;
  artifactPrefix: string;
  status: ScoringStatus;
  shardsTotal: number;
  shardsDone: number;
  itemsTotal: number;
  itemsScored: number;
  failureReason: string;
  decision: AutoLabelDecision | null;
  effectiveTargetError: number | null;
  createdAt: Date;
  finishedAt: Date | null;
}

export interface NewScoringJob {
  datasetId: string;
  modelId: string;
  modelVersion: number;
  artifactPrefix: string;
  shardSize: number;
}

export interface ShardItem {
  itemId: string;
  sha256: string;
  /** undefined: the item was excluded since the job began (the scorer may skip it). */
  kind: ScoringKind | undefined;
}

/** A shard leased to a scorer. */
export interface ClaimedShard {
  id: string;
  jobId: string;
  datasetId: string;
  modelId: string;
  modelVersion: number;
  artifactPrefix: string;
  items: ShardItem[];
  strategy: AcquisitionStrategy;
  mcSamples: number;
  /** The dataset orders its queue with k-center diversity: the scorer sends embeddings. */
  embeddings: boolean;
  leaseExpiresAt: Date;
}

/** One item's prediction as the scorer sends it. */
export interface PredictionInput {
  itemId: string;
  /** Calibrated, one per class in class order. */
  probabilities: number[];
  acquisitionScore: number;
  /** Empty unless the shard asked for embeddings. */
  embedding: number[];
}
