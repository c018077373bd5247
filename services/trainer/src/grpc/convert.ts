import { InvalidArgumentError } from '@labelloop/common';
import { trainingV1 } from '@labelloop/proto';
import type { HyperParameters, Model, RetrainPolicy, RunProgress, RunStatus, RunTrigger, SearchSettings, SearchStrategy, SplitMetricsJson, TrainingRun } from '../domain/types.js';

// Proto ↔ domain for the trainer (enums by name, metrics, runs, models, policies).

const OPTIMIZERS: Record<HyperParameters['optimizer'], trainingV1.OptimizerName> = {
  sgd: trainingV1.OptimizerName.OPTIMIZER_NAME_SGD,
  momentum: trainingV1.OptimizerName.OPTIMIZER_NAME_MOMENTUM,
  adam: trainingV1.OptimizerName.OPTIMIZER_NAME_ADAM,
  rmsprop: trainingV1.OptimizerName.OPTIMIZER_NAME_RMSPROP,
};
const STRATEGIES: Record<SearchStrategy, trainingV1.SearchStrategy> = {
  NONE: trainingV1.SearchStrategy.SEARCH_STRATEGY_NONE,
  RANDOM: trainingV1.SearchStrategy.SEARCH_STRATEGY_RANDOM,
  SUCCESSIVE_HALVING: trainingV1.SearchStrategy.SEARCH_STRATEGY_SUCCESSIVE_HALVING,
};
const TRIGGERS: Record<RunTrigger, trainingV1.RunTrigger> = {
  API: trainingV1.RunTrigger.RUN_TRIGGER_API,
  POLICY: trainingV1.RunTrigger.RUN_TRIGGER_POLICY,
  SCHEDULE: trainingV1.RunTrigger.RUN_TRIGGER_SCHEDULE,
};

function inverse<K extends string, V>(map: Record<K, V>, value: V): K | undefined {
  return (Object.keys(map) as K[]).find((k) => map[k] === value);
}

export function runStatusToProto(s: RunStatus): trainingV1.RunStatus {
  return trainingV1.RunStatus[`RUN_STATUS_${s}`];
}

export function hyperParametersFromProto(hp: trainingV1.HyperParameters): HyperParameters {
  const optimizer = inverse(OPTIMIZERS, hp.optimizer);
  if (!optimizer) throw new InvalidArgumentError('hyper_parameters.optimizer is required (SGD, MOMENTUM, ADAM or RMSPROP)');
  return { optimizer, learningRate: hp.learningRate, epochs: hp.epochs, momentum: hp.momentum, batchSize: hp.batchSize };
}

export function hyperParametersToProto(hp: HyperParameters): trainingV1.HyperParameters {
  return { optimizer: OPTIMIZERS[hp.optimizer], learningRate: hp.learningRate, epochs: hp.epochs, momentum: hp.momentum, batchSize: hp.batchSize };
}

export function searchFromProto(s: trainingV1.SearchSettings | undefined): SearchSettings {
  if (!s || s.strategy === trainingV1.SearchStrategy.SEARCH_STRATEGY_UNSPECIFIED) return { strategy: 'NONE', trials: 0, maxEpochs: 0, seed: 0 };
  const strategy = inverse(STRATEGIES, s.strategy);
  if (!strategy) throw new InvalidArgumentError(`unknown search strategy ${s.strategy}`);
  return { strategy, trials: s.trials, maxEpochs: s.maxEpochs, seed: s.seed };
}

export function triggerFromProto(t: trainingV1.RunTrigger): RunTrigger {
  return inverse(TRIGGERS, t) ?? 'API';
}

export function progressToProto(p: Partial<RunProgress>): trainingV1.Progress {
  return trainingV1.Progress.fromPartial(p);
}

export function runToProto(r: TrainingRun): trainingV1.TrainingRun {
  return {
    id: r.id,
    datasetId: r.datasetId,
    status: runStatusToProto(r.status),
    trigger: TRIGGERS[r.trigger],
    requestedBy: r.requestedBy,
    hyperParameters: hyperParametersToProto(r.hyperParameters),
    search: { strategy: STRATEGIES[r.search.strategy], trials: r.search.trials, maxEpochs: r.search.maxEpochs, seed: r.search.seed },
    progress: progressToProto(r.progress),
    failureReason: r.failureReason,
    modelId: r.modelId ?? '',
    createdAt: r.createdAt,
    startedAt: r.startedAt ?? undefined,
    finishedAt: r.finishedAt ?? undefined,
    attempts: r.attempts,
  };
}

function splitToProto(m: SplitMetricsJson): trainingV1.SplitMetrics {
  return {
    split: m.split,
    accuracy: m.accuracy,
    macroF1: m.macroF1,
    perClass: m.perClass.map((c) => ({ ...c })),
    confusionMatrix: m.confusionMatrix,
    eceBeforeCalibration: m.eceBefore,
    eceAfterCalibration: m.eceAfter,
    items: m.items,
  };
}

export function modelToProto(m: Model): trainingV1.Model {
  return {
    id: m.id,
    datasetId: m.datasetId,
    version: m.version,
    runId: m.runId,
    status: trainingV1.ModelStatus[`MODEL_STATUS_${m.status}`],
    architecture: m.architecture,
    classes: m.classes,
    hyperParameters: hyperParametersToProto(m.hyperParameters),
    temperature: m.temperature,
    metrics: [splitToProto(m.metrics.test), splitToProto(m.metrics.validation)],
    snapshotKey: m.snapshotKey,
    artifactPrefix: m.artifactPrefix,
    newItems: m.newItems,
    humanLabels: m.humanLabels,
    replayedItems: m.replayedItems,
    promotionDecision: m.promotionDecision,
    backend: m.backend,
    createdAt: m.createdAt,
    promotedAt: m.promotedAt ?? undefined,
  };
}

export function policyToProto(p: RetrainPolicy): trainingV1.RetrainPolicy {
  return { ...p };
}
