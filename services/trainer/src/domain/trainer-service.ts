import { randomInt, randomUUID } from 'node:crypto';
import { FailedPreconditionError, GrpcCallError, InvalidArgumentError, NotFoundError, Status, type Logger } from '@labelloop/common';
import { ProcessedEvents } from '@labelloop/events';
import type { Database, Queryable } from '@labelloop/storage';
import type { DatasetReader } from '../adapters/dataset-reader.js';
import { getChampion, getModel, listModels, makeChampion, setDecision } from '../adapters/model-repository.js';
import { countHumanLabel, getPolicy, putPolicy, resetHumanLabels } from '../adapters/policy-repository.js';
import { finishRun, getRun, hasActiveRun, insertRun, listRuns, SCHEMA } from '../adapters/run-repository.js';
import { enqueueProgressed, enqueuePromoted, enqueueWork } from '../adapters/trainer-events.js';
import { cancelTrials } from '../adapters/trial-repository.js';
import type { TrainerMetrics } from '../metrics.js';
import { defaultHyperParameters, validateHyperParameters, validatePolicy } from './defaults.js';
import type { RunExecutor } from './run-executor.js';
import { createSearchState, dispatchTrials, searchCounters, validateSearch } from './search-plan.js';
import type { RunWatchers } from './run-watchers.js';
import { TERMINAL, type HyperParameters, type Model, type RetrainPolicy, type RunTrigger, type SearchSettings, type TrainingRun } from './types.js';

export interface StartRunRequest {
  datasetId: string;
  hyperParameters?: HyperParameters;
  search: SearchSettings;
  trigger: RunTrigger;
  requestedBy: string;
}

export interface TrainerServiceDeps {
  db: Database;
  dataset: DatasetReader;
  executor: RunExecutor;
  watchers: RunWatchers;
  metrics: TrainerMetrics;
  logger: Logger;
  /** After a transaction that wrote events / work items commits (relay nudges). */
  onEventsCommitted: () => void;
  onWorkCommitted: () => void;
}

export const POLICY_CONSUMER = 'trainer-retrain-policy';
const WATCH_POLL_MS = 1000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function requireId(value: string, name: string): string {
  if (!UUID.test(value)) throw new InvalidArgumentError(`${name} must be a uuid, got "${value}"`);
  return value;
}

/** The TrainerService operations (everything but executing work, which RunExecutor does). */
export class TrainerService {
  private readonly processed = new ProcessedEvents(SCHEMA);

  constructor(private readonly d: TrainerServiceDeps) {}

  async startRun(req: StartRunRequest): Promise<TrainingRun> {
    const dataset = await this.d.dataset.getDataset(requireId(req.datasetId, 'dataset_id')).catch((err: unknown) => {
      if (err instanceof GrpcCallError && err.code === Status.NOT_FOUND) throw new NotFoundError(`dataset ${req.datasetId} not found`);
      throw err;
    });
    const run = await this.d.db.transaction((tx) => this.createRun(tx, req, dataset.image));
    this.d.onWorkCommitted();
    return run;
  }

  /** The run and its work item in one transaction (the work relay publishes the item after commit). */
  private async createRun(tx: Queryable, req: StartRunRequest, image: { width: number; height: number }): Promise<TrainingRun> {
    const search = validateSearch(req.search);
    // With a search, these give the batch size and the default max epochs; the best trial's replace them.
    const hyperParameters = validateHyperParameters(req.hyperParameters ?? defaultHyperParameters(image));
    const run = await insertRun(tx, {
      id: randomUUID(),
      datasetId: req.datasetId,
      trigger: req.trigger,
      requestedBy: req.requestedBy || req.trigger.toLowerCase(),
      hyperParameters,
      search,
      seed: randomInt(1, 2 ** 31),
    });
    if (search.strategy === 'NONE') {
      await enqueueWork(tx, run);
      return run;
    }
    // Each trial is a work item of its own; the final training is queued when the search ends.
    const state = createSearchState(search, run.seed, hyperParameters);
    await dispatchTrials(tx, run, state, hyperParameters);
    return { ...run, progress: searchCounters(state) };
  }

  async getRun(id: string): Promise<TrainingRun> {
    const run = await getRun(this.d.db, requireId(id, 'run_id'));
    if (!run) throw new NotFoundError(`training run ${id} not found`);
    const live = run.status === 'RUNNING' ? this.d.executor.liveProgress(id) : undefined;
    // The stored trial counters of a search win: the live writer does not know them.
    return live ? { ...run, progress: { ...live, ...pickCounters(run.progress) } } : run;
  }

  async listRuns(datasetId: string, limit: number, cursor: string): Promise<{ runs: TrainingRun[]; nextCursor: string }> {
    if (datasetId) requireId(datasetId, 'dataset_id');
    const size = limit === 0 ? 50 : limit;
    if (size > 200) throw new InvalidArgumentError('limit must be at most 200');
    let before: number | undefined;
    if (cursor) {
      before = Number(Buffer.from(cursor, 'base64url').toString('utf8'));
      if (!Number.isSafeInteger(before)) throw new InvalidArgumentError('cursor is not valid');
    }
    const page = await listRuns(this.d.db, datasetId || undefined, size + 1, before);
    const more = page.runs.length > size;
    const runs = page.runs.slice(0, size);
    const seq = more ? await this.seqOf(runs[runs.length - 1]!.id) : undefined;
    return { runs, nextCursor: seq === undefined ? '' : Buffer.from(String(seq)).toString('base64url') };
  }

  private async seqOf(id: string): Promise<number> {
    const { rows } = await this.d.db.query<{ seq: number }>('SELECT seq FROM training.runs WHERE id = $1', [id]);
    return Number(rows[0]!.seq);
  }

  /** QUEUED/RUNNING → CANCELLED; a run executing here stops within a batch, elsewhere at its next progress write. */
  async cancelRun(id: string): Promise<TrainingRun> {
    const cancelled = await this.d.db.transaction(async (tx) => {
      const run = await finishRun(tx, requireId(id, 'run_id'), 'CANCELLED', { failureReason: 'cancelled' });
      if (run) {
        await cancelTrials(tx, run.id); // their queued work items are skipped on delivery
        await enqueueProgressed(tx, run);
      }
      return run;
    });
    if (!cancelled) {
      const run = await this.getRun(id);
      throw new FailedPreconditionError(`training run ${id} is already ${run.status}`);
    }
    this.d.onEventsCommitted();
    this.d.metrics.runFinished('cancelled', undefined);
    this.d.executor.cancelLocal(id);
    this.d.watchers.changed(id);
    return cancelled;
  }

  /** The run now, then each change until it is over. */
  async *watchRun(id: string, signal: AbortSignal): AsyncGenerator<TrainingRun> {
    let run = await this.getRun(id);
    yield run;
    let last = JSON.stringify(run);
    while (!TERMINAL.has(run.status) && !signal.aborted) {
      await this.d.watchers.next(id, WATCH_POLL_MS, signal);
      run = await this.getRun(id);
      const now = JSON.stringify(run);
      if (now !== last) yield run;
      last = now;
    }
  }

  listModels(datasetId: string): Promise<Model[]> {
    return listModels(this.d.db, datasetId ? requireId(datasetId, 'dataset_id') : undefined);
  }

  async getModel(id: string): Promise<Model> {
    const model = await getModel(this.d.db, requireId(id, 'model_id'));
    if (!model) throw new NotFoundError(`model ${id} not found`);
    return model;
  }

  /** Manual promotion by an admin. */
  async promote(modelId: string, actor: string): Promise<Model> {
    const model = await this.getModel(modelId);
    if (model.status === 'CHAMPION') return model;
    const promoted = await this.d.db.transaction(async (tx) => {
      const champion = await getChampion(tx, model.datasetId);
      await setDecision(tx, model.id, `promoted by hand by ${actor || 'unknown'}`);
      const m = await makeChampion(tx, model, champion);
      await enqueuePromoted(tx, m, champion, actor || 'unknown');
      return m;
    });
    this.afterPromotion(promoted);
    return promoted;
  }

  /** The champion gives way to the one it replaced. */
  async rollback(datasetId: string, actor: string): Promise<Model> {
    requireId(datasetId, 'dataset_id');
    const restored = await this.d.db.transaction(async (tx) => {
      const champion = await getChampion(tx, datasetId);
      if (!champion) throw new FailedPreconditionError(`dataset ${datasetId} has no champion`);
      const previous = champion.previousChampionId ? await getModel(tx, champion.previousChampionId) : undefined;
      if (!previous) throw new FailedPreconditionError(`champion v${champion.version} replaced no earlier model`);
      // Keep the restored model's own link, so a second rollback goes one further back.
      const m = await makeChampion(tx, previous, champion, false);
      await enqueuePromoted(tx, m, champion, actor || 'unknown');
      return m;
    });
    this.afterPromotion(restored);
    return restored;
  }

  private afterPromotion(model: Model): void {
    this.d.onEventsCommitted();
    this.d.metrics.champion(model.datasetId, model.version);
  }

  getPolicy(datasetId: string): Promise<RetrainPolicy> {
    return getPolicy(this.d.db, requireId(datasetId, 'dataset_id'));
  }

  async setPolicy(policy: RetrainPolicy): Promise<RetrainPolicy> {
    requireId(policy.datasetId, 'policy.dataset_id');
    validatePolicy(policy);
    await putPolicy(this.d.db, policy);
    return policy;
  }

  /**
   * One labelloop.item.labeled event: counts human labels; at the policy's threshold, with no run
   * of the dataset queued or running, starts one (trigger POLICY) and resets the counter — all in
   * the transaction that records the event as processed, so a redelivery changes nothing.
   */
  async onHumanLabel(eventId: string, datasetId: string): Promise<void> {
    let started: TrainingRun | undefined;
    await this.d.db.transaction((tx) =>
      this.processed.runOnce(tx, POLICY_CONSUMER, eventId, async () => {
        const count = await countHumanLabel(tx, datasetId);
        const policy = await getPolicy(tx, datasetId);
        if (policy.everyHumanLabels === 0 || count < policy.everyHumanLabels) return;
        if (await hasActiveRun(tx, datasetId)) return; // the next label checks again
        const dataset = await this.d.dataset.getDataset(datasetId);
        started = await this.createRun(tx, { datasetId, search: { strategy: 'NONE', trials: 0, maxEpochs: 0, seed: 0 }, trigger: 'POLICY', requestedBy: 'policy' }, dataset.image);
        await resetHumanLabels(tx, datasetId);
      }),
    );
    if (started) {
      this.d.onWorkCommitted();
      this.d.logger.info({ runId: started.id, datasetId }, 'retrain policy started a run');
    }
  }

  /** Gauges for the models that exist (after a restart). */
  async loadGauges(): Promise<void> {
    for (const m of await listModels(this.d.db, undefined)) {
      this.d.metrics.model(m);
      if (m.status === 'CHAMPION') this.d.metrics.champion(m.datasetId, m.version);
    }
  }
}

function pickCounters(p: TrainingRun['progress']): TrainingRun['progress'] {
  return p.trialsTotal === undefined ? {} : { trialsDone: p.trialsDone, trialsTotal: p.trialsTotal };
}
