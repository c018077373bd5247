import { DomainError, type Logger } from '@labelloop/common';
import { best, isFinished, recordFailure, recordResult } from '@labelloop/ml';
import type { Database, Queryable } from '@labelloop/storage';
import { CheckpointStore } from '../adapters/checkpoint-store.js';
import { getPolicy } from '../adapters/policy-repository.js';
import { finishRun, getRun } from '../adapters/run-repository.js';
import { enqueueProgressed, enqueueWork } from '../adapters/trainer-events.js';
import {
  finishTrial, lockSearchState, markSearchRunning, markTrialRunning, requeueTrialRow, setFinalHyperParameters,
} from '../adapters/trial-repository.js';
import type { JobDeps, JobHooks, JobInput, TrialJobResult } from './job/job-types.js';
import { ProgressWriter } from './progress-writer.js';
import { dispatchTrials, searchCounters, trialHyperParameters } from './search-plan.js';
import type { TrainingRun } from './types.js';

export type RunTrial = (deps: JobDeps, input: JobInput, hooks: JobHooks) => Promise<TrialJobResult>;

export function trialCheckpointKey(datasetId: string, runId: string, trialId: string): string {
  return `models/${datasetId}/runs/${runId}/trials/${trialId}/checkpoint/latest`;
}

export interface TrialRunnerDeps {
  db: Database;
  jobDeps: (log: Logger) => JobDeps;
  logger: Logger;
  runTrial: RunTrial;
  checkpoints: CheckpointStore;
  maxDeliver: number;
  notify: (runId: string) => void;
  onEventsCommitted: () => void;
  onWorkCommitted: () => void;
  /** A search ended FAILED (no trial succeeded), for the run metrics. */
  onRunFailed: (run: TrainingRun) => void;
  /** Registers the trial with the executor (cancellation, live progress); returns the unregister. */
  register: (runId: string, trialId: string, abort: AbortController, progress: ProgressWriter) => () => void;
}

type Outcome = { ok: true; result: TrialJobResult } | { ok: false; reason: string };

/**
 * One trial work item: the run's search state says which configuration; the job trains it and
 * reports validation macro-F1, which goes back into the state. When the state says finished, the
 * best trial's hyper-parameters become the run's and the final training is queued as one more item.
 */
export class TrialRunner {
  constructor(private readonly d: TrialRunnerDeps) {}

  async execute(runId: string, trialId: string, work: { signal: AbortSignal; deliveryCount: number }): Promise<void> {
    const { db } = this.d;
    const started = await db.transaction(async (tx) => {
      const run = await getRun(tx, runId);
      if (!run || !(await markSearchRunning(tx, runId))) return undefined;
      const trial = await markTrialRunning(tx, runId, trialId);
      return trial && { run, trial };
    });
    if (!started) {
      this.d.logger.info({ runId, trialId }, 'work item for a finished trial skipped');
      return;
    }
    const { run, trial } = started;
    this.d.notify(runId);
    const log = this.d.logger.child({ runId, trialId, datasetId: run.datasetId, attempt: trial.attempts });
    const abort = new AbortController();
    const handBack = (): void => abort.abort(work.signal.reason);
    work.signal.addEventListener('abort', handBack);
    const progress = new ProgressWriter({
      db,
      runId,
      notify: () => this.d.notify(runId),
      onStopped: () => abort.abort(new Error('run is no longer running')),
      onEventsCommitted: this.d.onEventsCommitted,
      onError: (err) => log.warn({ err }, 'progress not stored'),
    });
    const unregister = this.d.register(runId, trialId, abort, progress);
    const key = trialCheckpointKey(run.datasetId, runId, trialId);
    try {
      log.info({ params: trial.params }, 'search trial started');
      const policy = await getPolicy(db, run.datasetId);
      const result = await this.d.runTrial(
        this.d.jobDeps(log),
        { runId, datasetId: run.datasetId, version: 0, hyperParameters: trial.params, seed: trial.seed, replayRatio: policy.replayRatio, trial: { trialId } },
        {
          onProgress: (p) => progress.update({ ...p, phase: 'trial' }),
          signal: abort.signal,
          checkpoint: { load: () => this.d.checkpoints.load(key), save: (epoch, weights) => this.d.checkpoints.save(key, epoch, weights) },
        },
      );
      await progress.flush();
      await this.record(run, trialId, { ok: true, result }, log);
      await this.d.checkpoints.remove(key).catch((err: unknown) => log.warn({ err }, 'checkpoint not removed'));
    } catch (err) {
      await progress.flush();
      await this.failed(run, trialId, err, work, log);
    } finally {
      work.signal.removeEventListener('abort', handBack);
      unregister();
      this.d.notify(runId);
    }
  }

  private async failed(run: TrainingRun, trialId: string, err: unknown, work: { signal: AbortSignal; deliveryCount: number }, log: Logger): Promise<void> {
    if (work.signal.aborted) {
      await requeueTrialRow(this.d.db, run.id, trialId);
      log.info({}, 'search trial handed back');
      return;
    }
    const current = await getRun(this.d.db, run.id);
    if (current?.status !== 'RUNNING') {
      log.info({ status: current?.status }, 'search trial stopped: run is over');
      return;
    }
    if (!(err instanceof DomainError) && work.deliveryCount < this.d.maxDeliver) {
      await requeueTrialRow(this.d.db, run.id, trialId);
      log.warn({ err }, 'search trial failed, will retry');
      throw err;
    }
    log.warn({ err }, 'search trial failed');
    await this.record(run, trialId, { ok: false, reason: err instanceof Error ? err.message : String(err) }, log);
  }

  /** Result into the trial row and the search state (run row locked), then the next work. */
  private async record(run: TrainingRun, trialId: string, outcome: Outcome, log: Logger): Promise<void> {
    const effects = await this.d.db.transaction(async (tx): Promise<{ work: boolean; events: boolean; failed?: TrainingRun }> => {
      const state = await lockSearchState(tx, run.id);
      const current = await getRun(tx, run.id);
      if (!state || current?.status !== 'RUNNING') return { work: false, events: false };
      const fresh = await finishTrial(tx, run.id, trialId, outcome.ok ? 'SUCCEEDED' : 'FAILED', outcome.ok
        ? { macroF1: outcome.result.validation.macroF1, accuracy: outcome.result.validation.accuracy }
        : { failureReason: outcome.reason });
      if (!fresh) return { work: false, events: false }; // a redelivered trial already recorded
      if (outcome.ok) recordResult(state, trialId, { validationMetric: outcome.result.validation.macroF1, validationAccuracy: outcome.result.validation.accuracy });
      else recordFailure(state, trialId, outcome.reason);
      const dispatched = await dispatchTrials(tx, current, state, current.hyperParameters);
      log.info({ ...searchCounters(state), ...(outcome.ok ? { validationMacroF1: outcome.result.validation.macroF1 } : {}) }, 'search trial recorded');
      if (!isFinished(state)) return { work: dispatched > 0, events: false };
      return this.finishSearch(tx, current, state, log);
    });
    if (effects.work) this.d.onWorkCommitted();
    if (effects.events) this.d.onEventsCommitted();
    if (effects.failed) this.d.onRunFailed(effects.failed);
  }

  private async finishSearch(tx: Queryable, run: TrainingRun, state: Parameters<typeof best>[0], log: Logger): Promise<{ work: boolean; events: boolean; failed?: TrainingRun }> {
    const top = best(state);
    if (!top) {
      const failed = await finishRun(tx, run.id, 'FAILED', { failureReason: `every trial of the search failed (last: ${state.trials.at(-1)?.error ?? 'unknown'})` });
      if (failed) await enqueueProgressed(tx, failed);
      log.warn({}, 'search failed: no trial succeeded');
      return { work: false, events: true, failed };
    }
    const hp = trialHyperParameters(top.trial, run.hyperParameters);
    await setFinalHyperParameters(tx, run.id, hp);
    await enqueueWork(tx, run);
    log.info({ bestTrial: top.trial.trialId, validationMacroF1: top.result.validationMetric, hyperParameters: hp }, 'search finished: final training queued');
    return { work: true, events: false };
  }
}
