// proto ↔ JSON for the trainer service: enums become lowercase strings, unset optionals null,
// timestamps RFC 3339, a model's metrics keyed by split with the confusion matrix as rows.
import { trainingV1 } from '@labelloop/proto';
import type {
  HyperParametersJson,
  ModelJson,
  ProgressEventJson,
  ProgressJson,
  RetrainPolicyJson,
  RunStatusName,
  RunTriggerName,
  SearchSettingsJson,
  SplitMetricsJson,
  TrainingRunJson,
} from '../openapi/training-schemas.js';

const { OptimizerName, SearchStrategy, RunStatus, RunTrigger, ModelStatus } = trainingV1;

/** A two-way table between a proto enum and its JSON names (UNSPECIFIED ↔ null). */
function enumMapping<P extends number, J extends string>(pairs: ReadonlyArray<readonly [P, J]>) {
  const toJson = new Map<number, J>(pairs);
  const toProto = new Map<string, P>(pairs.map(([p, j]) => [j, p]));
  return {
    json: (value: P): J | null => toJson.get(value) ?? null,
    proto: (name: J): P => toProto.get(name)!,
  };
}

export const optimizerEnum = enumMapping<trainingV1.OptimizerName, HyperParametersJson['optimizer']>([
  [OptimizerName.OPTIMIZER_NAME_SGD, 'sgd'],
  [OptimizerName.OPTIMIZER_NAME_MOMENTUM, 'momentum'],
  [OptimizerName.OPTIMIZER_NAME_ADAM, 'adam'],
  [OptimizerName.OPTIMIZER_NAME_RMSPROP, 'rmsprop'],
]);

export const searchStrategyEnum = enumMapping<trainingV1.SearchStrategy, SearchSettingsJson['strategy']>([
  [SearchStrategy.SEARCH_STRATEGY_NONE, 'none'],
  [SearchStrategy.SEARCH_STRATEGY_RANDOM, 'random'],
  [SearchStrategy.SEARCH_STRATEGY_SUCCESSIVE_HALVING, 'successive-halving'],
]);

export const runStatusEnum = enumMapping<trainingV1.RunStatus, RunStatusName>([
  [RunStatus.RUN_STATUS_QUEUED, 'queued'],
  [RunStatus.RUN_STATUS_RUNNING, 'running'],
  [RunStatus.RUN_STATUS_SUCCEEDED, 'succeeded'],
  [RunStatus.RUN_STATUS_FAILED, 'failed'],
  [RunStatus.RUN_STATUS_CANCELLED, 'cancelled'],
]);

export const runTriggerEnum = enumMapping<trainingV1.RunTrigger, RunTriggerName>([
  [RunTrigger.RUN_TRIGGER_API, 'api'],
  [RunTrigger.RUN_TRIGGER_POLICY, 'policy'],
  [RunTrigger.RUN_TRIGGER_SCHEDULE, 'schedule'],
]);

const modelStatusEnum = enumMapping<trainingV1.ModelStatus, ModelJson['status']>([
  [ModelStatus.MODEL_STATUS_CANDIDATE, 'candidate'],
  [ModelStatus.MODEL_STATUS_CHAMPION, 'champion'],
  [ModelStatus.MODEL_STATUS_RETIRED, 'retired'],
]);

function iso(date: Date | undefined): string | null {
  return date ? date.toISOString() : null;
}

/** A field the trainer always sets; its absence is a contract violation. */
function required<T>(value: T | null | undefined, what: string): T {
  if (value === undefined || value === null) throw new Error(`trainer service response lacks ${what}`);
  return value;
}

export function hyperParametersToProto(json: HyperParametersJson): trainingV1.HyperParameters {
  return { ...json, optimizer: optimizerEnum.proto(json.optimizer) };
}

export function searchToProto(json: SearchSettingsJson): trainingV1.SearchSettings {
  return { ...json, strategy: searchStrategyEnum.proto(json.strategy) };
}

function hyperParametersToJson(hp: trainingV1.HyperParameters | undefined): HyperParametersJson | null {
  const optimizer = hp && optimizerEnum.json(hp.optimizer);
  if (!hp || !optimizer) return null;
  return { optimizer, learningRate: hp.learningRate, epochs: hp.epochs, momentum: hp.momentum, batchSize: hp.batchSize };
}

function searchToJson(search: trainingV1.SearchSettings | undefined): SearchSettingsJson | null {
  const strategy = search && searchStrategyEnum.json(search.strategy);
  if (!search || !strategy) return null;
  return { strategy, trials: search.trials, maxEpochs: search.maxEpochs, seed: search.seed };
}

function progressToJson(p: trainingV1.Progress | undefined): ProgressJson | null {
  if (!p) return null;
  const { phase, epoch, epochs, batch, batches, loss, accuracy, imagesPerSecond, etaSeconds, trialsDone, trialsTotal } = p;
  return { phase, epoch, epochs, batch, batches, loss, accuracy, imagesPerSecond, etaSeconds, trialsDone, trialsTotal };
}

export function runToJson(run: trainingV1.TrainingRun): TrainingRunJson {
  return {
    id: run.id,
    datasetId: run.datasetId,
    status: required(runStatusEnum.json(run.status), `a run status (got ${run.status})`),
    trigger: required(runTriggerEnum.json(run.trigger), `a run trigger (got ${run.trigger})`),
    requestedBy: run.requestedBy,
    hyperParameters: hyperParametersToJson(run.hyperParameters),
    search: searchToJson(run.search),
    progress: progressToJson(run.progress),
    failureReason: run.failureReason || null,
    modelId: run.modelId || null,
    createdAt: required(iso(run.createdAt), 'run.createdAt'),
    startedAt: iso(run.startedAt),
    finishedAt: iso(run.finishedAt),
    attempts: run.attempts,
  };
}

const NO_PROGRESS: ProgressJson = {
  phase: '',
  epoch: 0,
  epochs: 0,
  batch: 0,
  batches: 0,
  loss: 0,
  accuracy: 0,
  imagesPerSecond: 0,
  etaSeconds: 0,
  trialsDone: 0,
  trialsTotal: 0,
};

/** The data of a `progress` event: the run's status and its progress (zeros before any). */
export function progressEventOf(run: TrainingRunJson): ProgressEventJson {
  return { runId: run.id, status: run.status, ...(run.progress ?? NO_PROGRESS) };
}

/** Row-major k×k → k rows (k from the class count; a malformed matrix is a contract violation). */
export function confusionRows(flat: readonly number[], k: number): number[][] {
  if (flat.length !== k * k) throw new Error(`trainer sent a confusion matrix of ${flat.length} cells for ${k} classes`);
  return Array.from({ length: k }, (_, row) => flat.slice(row * k, row * k + k));
}

function splitMetricsToJson(m: trainingV1.SplitMetrics, classes: number): SplitMetricsJson {
  return {
    accuracy: m.accuracy,
    macroF1: m.macroF1,
    perClass: m.perClass.map(({ className, precision, recall, f1, support }) => ({
      className,
      precision,
      recall,
      f1,
      support,
    })),
    confusionMatrix: confusionRows(m.confusionMatrix, classes),
    eceBeforeCalibration: m.eceBeforeCalibration,
    eceAfterCalibration: m.eceAfterCalibration,
    items: m.items,
  };
}

export function modelToJson(model: trainingV1.Model): ModelJson {
  return {
    id: model.id,
    datasetId: model.datasetId,
    version: model.version,
    runId: model.runId,
    status: required(modelStatusEnum.json(model.status), `a model status (got ${model.status})`),
    architecture: model.architecture,
    classes: model.classes,
    hyperParameters: hyperParametersToJson(model.hyperParameters),
    temperature: model.temperature,
    metrics: Object.fromEntries(model.metrics.map((m) => [m.split, splitMetricsToJson(m, model.classes.length)])),
    snapshot: { key: model.snapshotKey, newItems: model.newItems, replayedItems: model.replayedItems, humanLabels: model.humanLabels },
    artifactPrefix: model.artifactPrefix,
    promotionDecision: model.promotionDecision,
    backend: model.backend,
    createdAt: required(iso(model.createdAt), 'model.createdAt'),
    promotedAt: iso(model.promotedAt),
  };
}

export function policyToJson(policy: trainingV1.RetrainPolicy): RetrainPolicyJson {
  const { datasetId, everyHumanLabels, replayRatio, promotionTolerance, maxRecallDrop } = policy;
  return { datasetId, everyHumanLabels, replayRatio, promotionTolerance, maxRecallDrop };
}
