// The JSON shapes of the training part of the REST API (runs, progress events, models,
// retrain policy), as zod schemas like schemas.ts: they type the mapping and generate the
// OpenAPI document.
import { z } from 'zod';

export const optimizers = ['sgd', 'momentum', 'adam', 'rmsprop'] as const;
export const searchStrategies = ['none', 'random', 'successive-halving'] as const;
export const runStatuses = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export const runTriggers = ['api', 'policy', 'schedule'] as const;
export const modelStatuses = ['candidate', 'champion', 'retired'] as const;
/** Run statuses after which nothing changes any more. */
export const finalRunStatuses: ReadonlySet<RunStatusName> = new Set(['succeeded', 'failed', 'cancelled']);

const timestamp = z.iso.datetime().meta({ description: 'RFC 3339 timestamp (UTC)' });
const count = z.int().min(0);

export const HyperParameters = z
  .object({
    optimizer: z.enum(optimizers),
    learningRate: z.number().positive().max(1),
    epochs: z.int().min(1).max(1000),
    momentum: z.number().min(0).lt(1).meta({ description: 'Used by the momentum and rmsprop optimizers; below 1.' }),
    batchSize: z.int().min(1).max(4096),
  })
  .meta({ id: 'HyperParameters' });

export const SearchSettings = z
  .object({
    strategy: z.enum(searchStrategies),
    trials: z
      .int()
      .min(1)
      .max(256)
      .meta({ description: 'Random search: trials; successive halving: starting configurations.' }),
    maxEpochs: z.int().min(1).max(1000),
    seed: z.int().min(0).max(2 ** 32 - 1),
  })
  .meta({ id: 'SearchSettings', description: 'A hyper-parameter search over optimizer, learning rate, epochs, momentum.' });

export const Progress = z
  .object({
    phase: z.string().meta({ description: 'trial, training, evaluating or saving.' }),
    epoch: count,
    epochs: count,
    batch: count,
    batches: count,
    loss: z.number(),
    accuracy: z.number(),
    imagesPerSecond: z.number(),
    etaSeconds: z.number(),
    trialsDone: count,
    trialsTotal: count,
  })
  .meta({ id: 'Progress' });

export const TrainingRun = z
  .object({
    id: z.string(),
    datasetId: z.string(),
    status: z.enum(runStatuses),
    trigger: z.enum(runTriggers),
    requestedBy: z.string().meta({ description: 'An API key name, policy or schedule.' }),
    hyperParameters: HyperParameters.nullable(),
    search: SearchSettings.nullable(),
    progress: Progress.nullable(),
    failureReason: z.string().nullable(),
    modelId: z.string().nullable().meta({ description: 'Set when the run produced a model.' }),
    createdAt: timestamp,
    startedAt: timestamp.nullable(),
    finishedAt: timestamp.nullable(),
    attempts: count.meta({ description: 'Times the work was (re)delivered to a trainer.' }),
  })
  .meta({ id: 'TrainingRun' });

export const TrainingRunPage = z
  .object({ runs: z.array(TrainingRun), nextCursor: z.string().nullable() })
  .meta({ id: 'TrainingRunPage', description: 'Newest first; nextCursor is null on the last page.' });

/** The data of one `progress` server-sent event. */
export const ProgressEvent = Progress.extend({ runId: z.string(), status: z.enum(runStatuses) }).meta({
  id: 'TrainingProgressEvent',
});

export const ClassMetrics = z
  .object({ className: z.string(), precision: z.number(), recall: z.number(), f1: z.number(), support: count })
  .meta({ id: 'ClassMetrics' });

export const SplitMetrics = z
  .object({
    accuracy: z.number(),
    macroF1: z.number(),
    perClass: z.array(ClassMetrics),
    confusionMatrix: z
      .array(z.array(count))
      .meta({ description: 'k×k in class order: rows are the true class, columns the predicted one.' }),
    eceBeforeCalibration: z.number(),
    eceAfterCalibration: z.number(),
    items: count,
  })
  .meta({ id: 'SplitMetrics' });

export const Model = z
  .object({
    id: z.string(),
    datasetId: z.string(),
    version: z.int().min(1),
    runId: z.string(),
    status: z.enum(modelStatuses),
    architecture: z.string(),
    classes: z.array(z.string()),
    hyperParameters: HyperParameters.nullable(),
    temperature: z.number(),
    metrics: z.record(z.string(), SplitMetrics).meta({ description: 'Keyed by split: test, validation.' }),
    snapshot: z
      .object({
        key: z.string().meta({ description: 'S3 key of the frozen manifest of items and labels trained on.' }),
        newItems: count.meta({ description: 'Labels new since the previous champion.' }),
        replayedItems: count.meta({ description: 'Older labelled items replayed (stratified by class).' }),
        humanLabels: count.meta({ description: 'Human labels of the dataset up to the snapshot (any split).' }),
      })
      .meta({ id: 'Snapshot' }),
    artifactPrefix: z.string(),
    promotionDecision: z.string().meta({ description: 'Why it was or was not promoted automatically.' }),
    backend: z.string(),
    createdAt: timestamp,
    promotedAt: timestamp.nullable(),
  })
  .meta({ id: 'Model' });

export const ModelList = z.object({ models: z.array(Model) }).meta({ id: 'ModelList', description: 'Newest first.' });

export const RetrainPolicy = z
  .object({
    datasetId: z.string(),
    everyHumanLabels: count.meta({ description: 'Start a run after this many new human labels; 0 = off.' }),
    replayRatio: z.number().min(0).max(1).meta({ description: 'Share of older labelled items replayed in a retrain.' }),
    promotionTolerance: z.number().min(0).max(1).meta({ description: 'Macro-F1 may drop this much and still win.' }),
    maxRecallDrop: z.number().min(0).max(1).meta({ description: 'No class’s recall may drop by more than this.' }),
  })
  .meta({ id: 'RetrainPolicy' });

export type HyperParametersJson = z.output<typeof HyperParameters>;
export type SearchSettingsJson = z.output<typeof SearchSettings>;
export type ProgressJson = z.output<typeof Progress>;
export type TrainingRunJson = z.output<typeof TrainingRun>;
export type ProgressEventJson = z.output<typeof ProgressEvent>;
export type SplitMetricsJson = z.output<typeof SplitMetrics>;
export type ModelJson = z.output<typeof Model>;
export type RetrainPolicyJson = z.output<typeof RetrainPolicy>;
export type RunStatusName = (typeof runStatuses)[number];
export type RunTriggerName = (typeof runTriggers)[number];
