import { InvalidArgumentError, type Logger } from '@labelloop/common';
import { hiddenAs } from '../hidden.js';
import type { Dataset } from '../types.js';
import { diversify, planFinalization, queueTasks } from './finalize.js';
import { FinalizationAbandoned, type RecordOutcome, type ScoringStore } from './ports.js';
import { validatePredictions } from './predictions.js';
import type { ClaimedShard, PredictionInput, ScoringJob } from './types.js';

// Pool scoring: BeginScoring freezes the items into shards, inference replicas claim and record
// them, and the call that records the last shard hands the job to finalization, which runs in
// the background here (and again on start for jobs a crash left FINALIZING: it is idempotent).

export const DEFAULT_SHARD_SIZE = 256;
export const MAX_SHARD_SIZE = 2000;
export const DEFAULT_SHARD_LEASE_SECONDS = 120;
export const MAX_SHARD_LEASE_SECONDS = 3600;
const MAX_WORKER_LENGTH = 200;
/** Pool items per label transaction during finalization. */
export const LABEL_CHUNK = 500;
/** Labelled embeddings used as k-center's initial centers, at most. */
const MAX_CENTERS = 5000;

export interface ScoringServiceDeps {
  store: ScoringStore;
  datasets: { get(id: string): Promise<Dataset> };
  logger: Logger;
}

export interface BeginScoringInput {
  datasetId: string;
  modelId: string;
  modelVersion: number;
  artifactPrefix: string;
  /** 0: the default. */
  shardSize: number;
}

export class ScoringService {
  /** Finalizations in flight in this process, by job id (one at a time per job). */
  private readonly finalizing = new Map<string, Promise<ScoringJob | undefined>>();
  private stopped = false;

  constructor(private readonly deps: ScoringServiceDeps) {}

  async begin(input: BeginScoringInput): Promise<{ job: ScoringJob; created: boolean }> {
    if (input.modelId.trim() === '') throw new InvalidArgumentError('model_id is required', { field: 'model_id' });
    if (!Number.isInteger(input.modelVersion) || input.modelVersion < 1 || input.modelVersion > 2 ** 31 - 1) {
      throw new InvalidArgumentError(`model_version must be a positive integer, got ${input.modelVersion}`, {
        field: 'model_version',
      });
    }
    if (input.artifactPrefix.trim() === '') {
      throw new InvalidArgumentError('artifact_prefix is required', { field: 'artifact_prefix' });
    }
    const shardSize = input.shardSize === 0 ? DEFAULT_SHARD_SIZE : input.shardSize;
    if (!Number.isInteger(shardSize) || shardSize < 1 || shardSize > MAX_SHARD_SIZE) {
      throw new InvalidArgumentError(`shard_size must be 1..${MAX_SHARD_SIZE}, got ${input.shardSize}`, {
        field: 'shard_size',
      });
    }
    const dataset = await this.deps.datasets.get(input.datasetId);
    const result = await this.deps.store.begin(dataset, {
      datasetId: dataset.id,
      modelId: input.modelId,
      modelVersion: input.modelVersion,
      artifactPrefix: input.artifactPrefix,
      shardSize,
    });
    // An empty dataset has nothing to score: the job goes straight to finalization.
    if (result.job.status === 'FINALIZING') this.finalizeInBackground(result.job.id);
    return result;
  }

  async claim(input: { worker: string; leaseSeconds: number; datasetId: string }): Promise<ClaimedShard | undefined> {
    const worker = requireWorker(input.worker);
    const leaseSeconds = input.leaseSeconds === 0 ? DEFAULT_SHARD_LEASE_SECONDS : input.leaseSeconds;
    if (!Number.isInteger(leaseSeconds) || leaseSeconds < 1 || leaseSeconds > MAX_SHARD_LEASE_SECONDS) {
      throw new InvalidArgumentError(`lease_seconds must be 1..${MAX_SHARD_LEASE_SECONDS}, got ${input.leaseSeconds}`, {
        field: 'lease_seconds',
      });
    }
    const datasetId = input.datasetId === '' ? undefined : (await this.deps.datasets.get(input.datasetId)).id;
    return this.deps.store.claim(worker, leaseSeconds, datasetId);
  }

  async record(input: {
    shardId: string;
    worker: string;
    predictions: readonly PredictionInput[];
  }): Promise<RecordOutcome> {
    const worker = requireWorker(input.worker);
    const outcome = await this.deps.store.record(input.shardId, worker, input.predictions, (ids, classes) =>
      validatePredictions(input.predictions, ids, classes),
    );
    if (outcome.recorded && outcome.job.status === 'FINALIZING') this.finalizeInBackground(outcome.job.id);
    return outcome;
  }

  /** A job of a soft-deleted dataset is hidden like the dataset. */
  async get(jobId: string): Promise<ScoringJob> {
    const job = await this.deps.store.get(jobId);
    await hiddenAs(this.deps.datasets.get(job.datasetId), `scoring job "${jobId}" not found`);
    return job;
  }

  async list(datasetId: string, limit: number): Promise<ScoringJob[]> {
    const dataset = await this.deps.datasets.get(datasetId);
    return this.deps.store.list(dataset.id, limit);
  }

  /** Finalizes, in the background, every job a crash or shutdown left FINALIZING; returns how many. */
  async resumeUnfinished(): Promise<number> {
    const jobs = await this.deps.store.finalizingJobs();
    for (const job of jobs) this.finalizeInBackground(job.id);
    return jobs.length;
  }

  /**
   * Finalizes the dataset's newest finished scoring job again with the settings as they are now
   * (after an audit failed and halved the error scale: a tighter threshold at once). Resolves
   * when done; undefined when the dataset has no finished job, or a newer job is still scoring
   * (it will use the new settings itself). Call it outside any open transaction.
   */
  async refinalizeLatest(datasetId: string): Promise<ScoringJob | undefined> {
    const job = await this.deps.store.reopenLatest(datasetId);
    return job ? this.finalize(job.id) : undefined;
  }

  /**
   * Runs (or joins) the job's finalization. Resolves with the SUCCEEDED job, or undefined when
   * the job stopped being FINALIZING meanwhile (superseded).
   */
  finalize(jobId: string): Promise<ScoringJob | undefined> {
    const running = this.finalizing.get(jobId);
    if (running) return running;
    const run = this.runFinalization(jobId).finally(() => this.finalizing.delete(jobId));
    this.finalizing.set(jobId, run);
    return run;
  }

  /** Resolves when no finalization runs in this process. */
  async whenIdle(): Promise<void> {
    while (this.finalizing.size > 0) await Promise.allSettled([...this.finalizing.values()]);
  }

  /** Stops starting new finalizations; running ones stop at their next chunk (the next start resumes them). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.whenIdle();
  }

  private finalizeInBackground(jobId: string): void {
    if (this.stopped) return;
    this.finalize(jobId).catch((err: unknown) => {
      // Left FINALIZING: the next start (or the next refinalizeLatest) tries again.
      this.deps.logger.error({ err, jobId }, 'scoring finalization failed');
    });
  }

  private async runFinalization(jobId: string): Promise<ScoringJob | undefined> {
    const { store, logger } = this.deps;
    const started = Date.now();
    try {
      const { job, dataset, items } = await store.loadFinalization(jobId);
      if (job.status !== 'FINALIZING') return job.status === 'SUCCEEDED' ? job : undefined;
      const plan = planFinalization({
        job,
        classes: dataset.classes,
        settings: dataset.activeLearning,
        items,
      });

      let uncertain = plan.uncertain;
      if (plan.diversityCandidates.length > 0) {
        const embeddings = await store.embeddings(job, plan.diversityCandidates);
        const centers = await store.labelledEmbeddings(job, MAX_CENTERS);
        const scores = new Map(items.map((item) => [item.itemId, item.acquisitionScore]));
        uncertain = diversify(plan.uncertain, plan.diversityCandidates, embeddings, centers, scores);
      }

      // Only items whose label changes go to the label transactions (each re-checked under lock);
      // a second finalization of the same job therefore writes no label at all.
      const snapshot = new Map(items.map((item) => [item.itemId, item]));
      const changing = plan.modelLabels.filter(({ itemId, target }) => {
        const item = snapshot.get(itemId)!;
        const holds = item.labelSource === 'model';
        if (target === null) return holds;
        return !(holds && item.label === target.value && item.labelModelVersion === String(job.modelVersion));
      });
      let applied = 0;
      let removed = 0;
      for (let start = 0; start < changing.length; start += LABEL_CHUNK) {
        // Shutting down: the job stays FINALIZING and the next start picks it up again.
        if (this.stopped) return undefined;
        const result = await store.applyModelLabels(job, dataset, changing.slice(start, start + LABEL_CHUNK));
        applied += result.applied;
        removed += result.removed;
      }
      await store.writeQueue(job, queueTasks(plan, uncertain));
      const done = await store.complete(job.id, plan.decision, plan.effectiveTargetError);
      logger.info(
        {
          jobId,
          datasetId: job.datasetId,
          modelVersion: job.modelVersion,
          ms: Date.now() - started,
          applied,
          removed,
          autoLabelled: plan.decision.autoLabelled,
          poolItems: plan.decision.poolItems,
          audits: plan.audits.length,
          suspects: plan.suspects.length,
          uncertain: uncertain.length,
          scope: plan.decision.scope,
        },
        'scoring job finalized',
      );
      return done;
    } catch (err) {
      if (err instanceof FinalizationAbandoned) {
        logger.info({ jobId, status: err.status }, 'scoring finalization abandoned: the job was superseded');
        return undefined;
      }
      throw err;
    }
  }
}

function requireWorker(worker: string): string {
  if (worker.trim() === '') throw new InvalidArgumentError('worker is required', { field: 'worker' });
  if (worker.length > MAX_WORKER_LENGTH) {
    throw new InvalidArgumentError(`worker must be at most ${MAX_WORKER_LENGTH} characters`, { field: 'worker' });
  }
  return worker;
}
