import type { Dataset } from '../types.js';
import type { ModelLabelTarget, QueueTask, ScoredItem } from './finalize.js';
import type { ValidPrediction } from './predictions.js';
import type { AutoLabelDecision, ClaimedShard, NewScoringJob, PredictionInput, ScoringJob } from './types.js';

// What the scoring service needs from storage (adapters/scoring-repository.ts implements it).

export interface RecordOutcome {
  job: ScoringJob;
  /** False for a replay of a done shard, or a shard of a job that is no longer running. */
  recorded: boolean;
}

export interface ScoringStore {
  /** Creates the job with its shards (or returns the one for that version), superseding older unfinished jobs. */
  begin(dataset: Dataset, input: NewScoringJob): Promise<{ job: ScoringJob; created: boolean }>;
  /** Leases the next open shard of a running job (oldest job first); undefined when none. */
  claim(worker: string, leaseSeconds: number, datasetId?: string): Promise<ClaimedShard | undefined>;
  /**
   * Validates (with `validate`, against the shard's items and the dataset's classes) and stores
   * the predictions, marks the shard done and counts it on the job, in one transaction.
   */
  record(
    shardId: string,
    worker: string,
    predictions: readonly PredictionInput[],
    validate: (shardItemIds: ReadonlySet<string>, classes: readonly string[]) => ValidPrediction[],
  ): Promise<RecordOutcome>;
  get(jobId: string): Promise<ScoringJob>;
  /** Newest first. */
  list(datasetId: string, limit: number): Promise<ScoringJob[]>;
  finalizingJobs(): Promise<ScoringJob[]>;
  /** The dataset's newest finished job back to FINALIZING (a FINALIZING one as it is); undefined when none. */
  reopenLatest(datasetId: string): Promise<ScoringJob | undefined>;

  loadFinalization(jobId: string): Promise<{ job: ScoringJob; dataset: Dataset; items: ScoredItem[] }>;
  /** The job's embeddings of these items (items without one are left out). */
  embeddings(job: ScoringJob, itemIds: readonly string[]): Promise<Map<string, number[]>>;
  /** Embeddings of up to `limit` of the job's items that hold a human or import label. */
  labelledEmbeddings(job: ScoringJob, limit: number): Promise<number[][]>;
  /**
   * Brings these pool items to their target model label (set, replaced or removed through the label
   * history), each re-checked under its row lock. Throws FinalizationAbandoned when the job is no
   * longer FINALIZING.
   */
  applyModelLabels(
    job: ScoringJob,
    dataset: Dataset,
    targets: ReadonlyArray<{ itemId: string; target: ModelLabelTarget | null }>,
  ): Promise<{ applied: number; removed: number }>;
  /** Replaces the dataset's open unleased uncertain tasks and adds these tasks (one per item), atomically. */
  writeQueue(job: ScoringJob, tasks: readonly QueueTask[]): Promise<void>;
  complete(jobId: string, decision: AutoLabelDecision, effectiveTargetError: number): Promise<ScoringJob>;
}

/** The job left FINALIZING (superseded by a newer model) while it was being finalized. */
export class FinalizationAbandoned extends Error {
  constructor(
    readonly jobId: string,
    readonly status: string,
  ) {
    super(`scoring job ${jobId} is ${status}, no longer FINALIZING`);
  }
}
