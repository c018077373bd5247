import { randomUUID } from 'node:crypto';
import { DomainError, type Logger } from '@labelloop/common';
import type { BlobStore, Database } from '@labelloop/storage';
import { CheckpointStore, checkpointKey } from '../adapters/checkpoint-store.js';
import type { DatasetReader } from '../adapters/dataset-reader.js';
import { getChampion, insertModel, makeChampion, nextVersion } from '../adapters/model-repository.js';
import { getPolicy } from '../adapters/policy-repository.js';
import { finishRun, getRun, markRunning, requeueRun } from '../adapters/run-repository.js';
import { enqueueProgressed, enqueuePromoted } from '../adapters/trainer-events.js';
import type { TrainerMetrics } from '../metrics.js';
import type { JobDeps, JobHooks, JobInput, JobResult } from './job/job-types.js';
import { runTrialJob } from './job/run-training-job.js';
import { ProgressWriter } from './progress-writer.js';
import { decidePromotion } from './promotion.js';
import type { RunWatchers } from './run-watchers.js';
import { TrialRunner, type RunTrial } from './trial-runner.js';
import type { Model, TrainingRun } from './types.js';

export type RunJob = (deps: JobDeps, input: JobInput, hooks: JobHooks) => Promise<JobResult>;

export interface RunExecutorDeps {
  db: Database;
  blobs: BlobStore;
  dataset: DatasetReader;
  logger: Logger;
  metrics: TrainerMetrics;
  watchers: RunWatchers;
  runJob: RunJob;
  /** One trial of a hyper-parameter search (default: the job's runTrialJob). */
  runTrial?: RunTrial;
  /** Worker threads per job (TRAINER_WORKERS). */
  workers?: number;
  /** Deliveries the work queue makes before giving up (the last one records FAILED instead of retrying). */
  maxDeliver: number;
  onEventsCommitted: () => void;
  onWorkCommitted: () => void;
}

/** What the work queue hands the executor besides the item. */
export interface WorkContext {
  /** Aborted when the trainer hands the work back (SIGTERM). */
  signal: AbortSignal;
  deliveryCount: number;
}

/** Runs training work items: one run, start to model and promotion decision. */
export class RunExecutor {
  private readonly checkpoints: CheckpointStore;
  /** Work executing in this process (a run, or trials of a run's search), to cancel it within a batch. */
  private readonly active = new Map<string, { runId: string; abort: AbortController; progress: ProgressWriter }>();
  private readonly trials: TrialRunner;

  constructor(private readonly d: RunExecutorDeps) {
    this.checkpoints = new CheckpointStore(d.blobs);
    this.trials = new TrialRunner({
      db: d.db,
      jobDeps: (logger) => ({ dataset: d.dataset, blobs: d.blobs, logger, workers: d.workers }),
      logger: d.logger,
      runTrial: d.runTrial ?? runTrialJob,
      checkpoints: this.checkpoints,
      maxDeliver: d.maxDeliver,
      notify: (runId) => d.watchers.changed(runId),
      onEventsCommitted: d.onEventsCommitted,
      onWorkCommitted: d.onWorkCommitted,
      onRunFailed: (run) => d.metrics.runFinished('failed', seconds(run)),
      register: (runId, trialId, abort, progress) => {
        const key = `${runId}/${trialId}`;
        this.active.set(key, { runId, abort, progress });
        return () => this.active.delete(key);
      },
    });
  }

  /** Stops a run (and its trials) executing here (CancelTrainingRun already marked it CANCELLED). */
  cancelLocal(runId: string): void {
    for (const a of this.active.values()) if (a.runId === runId) a.abort.abort(new Error('run cancelled'));
  }

  /** Progress newer than the database's, when the run (or a trial of it) executes in this process. */
  liveProgress(runId: string): TrainingRun['progress'] | undefined {
    for (const a of this.active.values()) if (a.runId === runId) return a.progress.current;
    return undefined;
  }

  /** Resolves → the item is done (ack); throws → retry later (nak). `trialId` set: one trial of its search. */
  async execute(runId: string, work: WorkContext, trialId = ''): Promise<void> {
    if (trialId) return this.trials.execute(runId, trialId, work);
    const { db, logger } = this.d;
    const run = await markRunning(db, runId);
    if (!run) {
      logger.info({ runId }, 'work item for a finished run skipped');
      return;
    }
    this.d.watchers.changed(runId);
    const log = logger.child({ runId, datasetId: run.datasetId, attempt: run.attempts });
    const abort = new AbortController();
    const handBack = (): void => abort.abort(work.signal.reason);
    work.signal.addEventListener('abort', handBack);
    const progress = new ProgressWriter({
      db,
      runId,
      notify: () => this.d.watchers.changed(runId),
      onStopped: () => abort.abort(new Error('run is no longer running')),
      onEventsCommitted: this.d.onEventsCommitted,
      onError: (err) => log.warn({ err }, 'progress not stored'),
    });
    this.active.set(runId, { runId, abort, progress });
    const key = checkpointKey(run.datasetId, runId);
    try {
      log.info({}, 'training run started');
      const champion = await getChampion(db, run.datasetId);
      const policy = await getPolicy(db, run.datasetId);
      // Two runs of one dataset finishing at once would race for a version: the unique
      // (dataset_id, version) index then fails the later one, which is retried with the next.
      const version = await nextVersion(db, run.datasetId);
      const result = await this.d.runJob(
        { dataset: this.d.dataset, blobs: this.d.blobs, logger: log, workers: this.d.workers },
        {
          runId,
          datasetId: run.datasetId,
          version,
          hyperParameters: run.hyperParameters,
          seed: run.seed,
          champion: champion && { modelId: champion.id, snapshotCreatedAt: champion.snapshotCreatedAt, snapshotKey: champion.snapshotKey },
          replayRatio: policy.replayRatio,
        },
        {
          onProgress: (p) => {
            progress.update(p);
            this.d.metrics.imagesPerSecond(p.imagesPerSecond);
          },
          signal: abort.signal,
          checkpoint: {
            load: async () => {
              const saved = await this.checkpoints.load(key);
              if (saved) log.info({ epoch: saved.epoch }, 'resuming from checkpoint');
              return saved;
            },
            save: (epoch, weights) => this.checkpoints.save(key, epoch, weights),
          },
        },
      );
      await progress.flush();
      const model = await this.complete(run, version, result);
      await this.checkpoints.remove(key).catch((err: unknown) => log.warn({ err }, 'checkpoint not removed'));
      log.info({ modelId: model?.id, version, status: model?.status }, 'training run succeeded');
    } catch (err) {
      await progress.flush();
      await this.failed(run, err, work, log);
    } finally {
      work.signal.removeEventListener('abort', handBack);
      this.active.delete(runId);
      this.d.watchers.changed(runId);
    }
  }

  private async failed(run: TrainingRun, err: unknown, work: WorkContext, log: Logger): Promise<void> {
    const { db } = this.d;
    if (work.signal.aborted) {
      // Handed back (SIGTERM): queued again; the work queue redelivers it at once.
      await requeueRun(db, run.id);
      log.info({}, 'training run handed back');
      return;
    }
    const current = await getRun(db, run.id);
    if (current?.status === 'CANCELLED') {
      // Counted by CancelTrainingRun, on whichever replica took the call.
      log.info({}, 'training run cancelled');
      return;
    }
    const permanent = err instanceof DomainError || work.deliveryCount >= this.d.maxDeliver;
    if (!permanent) {
      await requeueRun(db, run.id);
      log.warn({ err }, 'training run failed, will retry');
      throw err;
    }
    const reason = err instanceof Error ? err.message : String(err);
    const finished = await db.transaction(async (tx) => {
      const f = await finishRun(tx, run.id, 'FAILED', { failureReason: reason });
      if (f) await enqueueProgressed(tx, f);
      return f;
    });
    this.d.onEventsCommitted();
    if (finished) this.d.metrics.runFinished('failed', seconds(finished));
    log.warn({ err }, 'training run failed');
  }

  /** Model row, promotion decision and SUCCEEDED in one transaction. */
  private async complete(run: TrainingRun, version: number, result: JobResult): Promise<Model | undefined> {
    const { db } = this.d;
    const cancelledAtEnd = new Error('run cancelled while saving');
    const outcome = await db.transaction(async (tx) => {
      const champion = await getChampion(tx, run.datasetId);
      const policy = await getPolicy(tx, run.datasetId);
      const decision = decidePromotion(result.metrics, champion, policy);
      let model = await insertModel(tx, {
        id: randomUUID(),
        datasetId: run.datasetId,
        version,
        runId: run.id,
        status: 'CANDIDATE',
        architecture: result.architecture,
        classes: result.classes,
        hyperParameters: run.hyperParameters,
        temperature: result.temperature,
        metrics: result.metrics,
        snapshotKey: result.snapshotKey,
        snapshotCreatedAt: result.snapshotCreatedAt,
        artifactPrefix: result.artifactPrefix,
        newItems: result.newItems,
        replayedItems: result.replayedItems,
        humanLabels: result.humanLabels,
        promotionDecision: (decision.promote ? 'promoted: ' : 'not promoted: ') + decision.reason,
        backend: result.backend,
      });
      if (decision.promote) {
        model = await makeChampion(tx, model, champion);
        await enqueuePromoted(tx, model, champion, 'auto');
      }
      const finished = await finishRun(tx, run.id, 'SUCCEEDED', { modelId: model.id });
      if (!finished) throw cancelledAtEnd; // cancelled at the very end: roll the model back too
      await enqueueProgressed(tx, finished);
      return { model, finished };
    }).catch((err: unknown) => {
      if (err === cancelledAtEnd) return undefined;
      throw err;
    });
    this.d.onEventsCommitted();
    if (!outcome) return undefined; // counted by CancelTrainingRun
    this.d.metrics.model(outcome.model);
    if (outcome.model.status === 'CHAMPION') this.d.metrics.champion(outcome.model.datasetId, outcome.model.version);
    this.d.metrics.runFinished('succeeded', seconds(outcome.finished));
    return outcome.model;
  }
}

function seconds(run: TrainingRun): number | undefined {
  if (!run.startedAt || !run.finishedAt) return undefined;
  return (run.finishedAt.getTime() - run.startedAt.getTime()) / 1000;
}
