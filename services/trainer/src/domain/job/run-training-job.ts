// One training job: snapshot → data → train → evaluate → artifact (or, for a search trial, → validation metrics). Runs, retries, the queue and
// where checkpoints live belong to the caller (see job-types.ts for the contract).
import { FailedPreconditionError, InvalidArgumentError } from '@labelloop/common';
import {
  augment, buildModel, classWeights, createTrainingEngine, currentBackend, fitTemperature, initBackend, type ImageSpec,
  modelSpecForImage, saveModelArtifact, setModelWeights, trainModel,
} from '@labelloop/ml';
import type { DatasetInfo } from '../../adapters/dataset-reader.js';
import { loadSnapshotImages, type LoadedSnapshot } from './job-data.js';
import { logitsOf, splitMetrics, streamedLogits } from './job-evaluation.js';
import { JobCancelledError, type JobDeps, type JobHooks, type JobInput, type JobResult, type TrialJobResult } from './job-types.js';
import { createManifestWriter, type ManifestLine, readManifest, snapshotKey, trialSnapshotKey } from './manifest.js';
import { classIndex, countHumanLabels, countSnapshot, planSnapshot, snapshotEntries } from './snapshot-source.js';

export * from './job-types.js';

/** Epochs without a better validation loss before training stops (and the best weights return). */
export const EARLY_STOPPING_PATIENCE = 5;
/** ±1 px shifts and ±10° rotations: better than ±2 px or none on MNIST (libs/ml/test/mnist-accuracy.test.ts). */
const DIGIT_AUGMENTATION = { maxShift: 1, maxRotationDeg: 10 };

export async function runTrainingJob(deps: JobDeps, input: JobInput, hooks: JobHooks): Promise<JobResult> {
  if (input.trial) throw new InvalidArgumentError('a search trial runs through runTrialJob');
  const trained = await trainOnSnapshot(deps, input, hooks, snapshotKey(input.datasetId, input.version));
  return evaluateAndSave(deps, input, hooks, trained);
}

/**
 * One trial of a hyper-parameter search: its own snapshot (under the run's trials/<trialId>/),
 * training, and validation metrics with a fitted temperature. No test evaluation, no artifact.
 */
export async function runTrialJob(deps: JobDeps, input: JobInput, hooks: JobHooks): Promise<TrialJobResult> {
  if (!input.trial) throw new InvalidArgumentError('runTrialJob needs input.trial');
  const key = trialSnapshotKey(input.datasetId, input.runId, input.trial.trialId);
  const { classes, modelSpec, loaded, weights, epochsTrained, backend, progress, log } = await trainOnSnapshot(deps, input, hooks, key);
  progress('evaluating');
  const model = buildModel(modelSpec, input.seed);
  try {
    setModelWeights(model, weights);
    const val = { logits: await logitsOf(model, loaded.validation.x), labels: loaded.validation.y };
    const temperature = fitTemperature(val.logits, val.labels, classes.length);
    const validation = splitMetrics('validation', val, classes, temperature);
    log.info({ validationMacroF1: validation.macroF1, validationAccuracy: validation.accuracy, epochsTrained }, 'trial evaluated');
    return { classes, temperature, validation, snapshotKey: key, backend: currentBackend()?.name ?? backend, epochsTrained };
  } finally {
    model.dispose();
  }
}

interface Trained {
  log: JobDeps['logger'];
  classes: string[];
  modelSpec: ReturnType<typeof modelSpecForImage>;
  imageSpec: ImageSpec;
  index: Map<string, number>;
  key: string;
  loaded: LoadedSnapshot;
  weights: Float32Array[];
  epochsTrained: number;
  backend: string;
  progress: (phase: 'snapshot' | 'evaluating' | 'saving') => void;
}

/** Snapshot (or the frozen one of a resumed job) → data → training, up to the final weights. */
async function trainOnSnapshot(deps: JobDeps, input: JobInput, hooks: JobHooks, key: string): Promise<Trained> {
  assertJobInput(input);
  const { datasetId, version, hyperParameters: hp, seed } = input;
  const log = deps.logger.child({ runId: input.runId, datasetId, version, ...(input.trial ? { trialId: input.trial.trialId } : {}) });
  const throwIfCancelled = () => {
    if (hooks.signal.aborted) throw new JobCancelledError();
  };
  const progress = (phase: 'snapshot' | 'evaluating' | 'saving') =>
    hooks.onProgress({ phase, epoch: 0, epochs: hp.epochs, batch: 0, batches: 0, loss: 0, accuracy: 0, imagesPerSecond: 0, etaSeconds: 0 });

  const dataset = await deps.dataset.getDataset(datasetId);
  const classes = dataset.classes;
  const k = classes.length;
  const modelSpec = modelSpecForImage(dataset.image, k);
  const [height, width, channels] = modelSpec.inputShape;
  const imageSpec: ImageSpec = { width, height, channels: channels as 1 | 3 };
  const index = classIndex(classes);
  const checkpoint = await hooks.checkpoint.load();

  // 1. Snapshot + data. A resumed job trains on the snapshot its first attempt froze.
  progress('snapshot');
  const frozen = checkpoint !== undefined && (await deps.blobs.head(key)) !== undefined;
  if (checkpoint && !frozen) log.warn({ snapshotKey: key, epoch: checkpoint.epoch }, 'checkpoint without its snapshot: building a new one');
  const loaded = frozen
    ? await loadFrozenSnapshot(deps, key, imageSpec, index, hooks.signal)
    : await buildSnapshot(deps, input, dataset, key, imageSpec, index, hooks.signal);
  throwIfCancelled();
  const { train, validation } = loaded;
  if (input.trial && validation.n === 0) throw new FailedPreconditionError('a search trial needs validation items: the dataset has none labelled');
  const trainCounts = train.classCounts(k);
  if (trainCounts.filter((n) => n > 0).length < 2) {
    throw new FailedPreconditionError(`after skipping ${loaded.undecodable} undecodable images, fewer than 2 classes have train images`);
  }
  log.info(
    { train: train.n, validation: validation.n, test: loaded.testItems, newItems: loaded.newItems, replayedItems: loaded.replayedItems, undecodable: loaded.undecodable, unusable: loaded.unusable },
    'snapshot loaded',
  );

  // 2. Train.
  const backend = (await initBackend({ logger: log })).name;
  const engine = await createTrainingEngine({
    spec: modelSpec,
    optimizer: { name: hp.optimizer, learningRate: hp.learningRate, momentum: hp.momentum },
    seed,
    ...(deps.workers ? { workers: deps.workers } : {}),
  });
  let weights: Float32Array[];
  let epochsTrained = 0;
  try {
    const resumeAfterEpoch = Math.min(checkpoint?.epoch ?? 0, hp.epochs);
    if (checkpoint) {
      await engine.setWeights(checkpoint.weights);
      log.info({ epoch: checkpoint.epoch }, 'resuming from checkpoint');
    }
    if (resumeAfterEpoch < hp.epochs) {
      const batches = Math.ceil(train.n / hp.batchSize);
      const result = await trainModel({
        engine,
        train,
        ...(validation.n > 0 ? { validation, earlyStopping: { patience: EARLY_STOPPING_PATIENCE } } : {}),
        epochs: hp.epochs,
        batchSize: hp.batchSize,
        seed,
        classWeights: classWeights(trainCounts),
        augment: (batch, rng) =>
          augment(batch, imageSpec, channels === 1 ? 'digits' : 'photos', rng, channels === 1 ? DIGIT_AUGMENTATION : {}),
        signal: hooks.signal,
        resumeAfterEpoch,
        onProgress: (p) =>
          hooks.onProgress({
            phase: 'training',
            epoch: p.epoch,
            epochs: p.epochs,
            batch: p.kind === 'batch' ? p.batch : batches,
            batches,
            loss: p.loss,
            accuracy: p.accuracy,
            imagesPerSecond: p.imagesPerSecond,
            etaSeconds: p.etaSeconds,
          }),
        afterEpoch: async (stats) => hooks.checkpoint.save(stats.epoch, await engine.getWeights()),
      });
      if (result.cancelled) throw new JobCancelledError();
      epochsTrained = result.history.at(-1)?.epoch ?? resumeAfterEpoch;
    } else {
      epochsTrained = resumeAfterEpoch;
    }
    weights = await engine.getWeights();
  } finally {
    await engine.dispose();
  }
  throwIfCancelled();
  return { log, classes, modelSpec, imageSpec, index, key, loaded, weights, epochsTrained, backend, progress };
}

/** Temperature from validation, every test item of the snapshot (streamed), then the artifact. */
async function evaluateAndSave(deps: JobDeps, input: JobInput, hooks: JobHooks, t: Trained): Promise<JobResult> {
  const { datasetId, version, hyperParameters: hp, seed } = input;
  const { log, classes, modelSpec, imageSpec, index, key, loaded, weights, epochsTrained, backend, progress } = t;
  const { validation } = loaded;
  const k = classes.length;
  const throwIfCancelled = () => {
    if (hooks.signal.aborted) throw new JobCancelledError();
  };
  // 3. Evaluate: temperature from validation; every test item of the snapshot, streamed.
  progress('evaluating');
  const model = buildModel(modelSpec, seed);
  try {
    setModelWeights(model, weights);
    const val = { logits: await logitsOf(model, validation.x), labels: validation.y };
    const temperature = fitTemperature(val.logits, val.labels, k);
    const testEntries = filter(readManifest(deps.blobs, key), (line) => line.role === 'test' && index.has(line.label));
    const test = await streamedLogits(model, testEntries, { reader: deps.dataset, spec: imageSpec, classIndex: index, signal: hooks.signal });
    throwIfCancelled();
    if (test.labels.length === 0) throw new FailedPreconditionError(`none of the ${loaded.testItems} test images could be decoded`);
    const metrics = {
      test: splitMetrics('test', test, classes, temperature),
      validation: splitMetrics('validation', val, classes, temperature),
    };

    // 4. Artifact (labelloop.json last: its presence means complete).
    progress('saving');
    const artifactPrefix = `models/${datasetId}/${version}/`;
    const snapshotCreatedAt = loaded.watermark;
    await saveModelArtifact(deps.blobs, artifactPrefix, model, {
      modelSpec,
      imageSpec,
      classes,
      temperature,
      metrics,
      backend,
      extra: {
        datasetId, runId: input.runId, version, hyperParameters: hp, seed, snapshotKey: key, snapshotCreatedAt: snapshotCreatedAt.toISOString(),
        championModelId: input.champion?.modelId ?? null, replayRatio: input.replayRatio, newItems: loaded.newItems,
        replayedItems: loaded.replayedItems, epochsTrained, undecodableTest: test.undecodable,
      },
    });
    log.info({ testAccuracy: metrics.test.accuracy, testMacroF1: metrics.test.macroF1, temperature, epochsTrained }, 'model saved');
    return {
      architecture: modelSpec.architecture,
      classes,
      temperature,
      metrics,
      snapshotKey: key,
      snapshotCreatedAt,
      artifactPrefix,
      newItems: loaded.newItems,
      replayedItems: loaded.replayedItems,
      humanLabels: await countHumanLabels(deps.dataset, await deps.dataset.getDataset(datasetId), snapshotCreatedAt),
      skippedItems: loaded.undecodable + loaded.unusable + test.undecodable,
      backend: currentBackend()?.name ?? backend,
      epochsTrained,
    };
  } finally {
    model.dispose();
  }
}

/** Counts, plans and streams a fresh snapshot, writing its manifest as the images load. */
async function buildSnapshot(
  deps: JobDeps,
  input: JobInput,
  dataset: DatasetInfo,
  key: string,
  spec: ImageSpec,
  index: Map<string, number>,
  signal: AbortSignal,
): Promise<LoadedSnapshot> {
  const cutoff = input.champion?.snapshotCreatedAt;
  const counts = await countSnapshot(deps.dataset, dataset, cutoff, signal);
  if (signal.aborted) throw new JobCancelledError();
  const plan = planSnapshot(dataset, counts, input.champion ? input.replayRatio : 0, input.seed);
  const writer = createManifestWriter(deps.blobs, key);
  try {
    const loaded = await loadSnapshotImages(snapshotEntries(deps.dataset, dataset, cutoff, plan, input.seed), {
      reader: deps.dataset,
      spec,
      classIndex: index,
      signal,
      onEntry: (line) => writer.write(line),
    });
    if (signal.aborted) throw new JobCancelledError();
    await writer.close();
    return { ...loaded, unusable: counts.skipped };
  } catch (error) {
    await writer.abort(error as Error);
    throw error;
  }
}

/** The images of an existing manifest (a resumed job, or reproducing a model). */
async function loadFrozenSnapshot(
  deps: JobDeps,
  key: string,
  spec: ImageSpec,
  index: Map<string, number>,
  signal: AbortSignal,
): Promise<LoadedSnapshot> {
  const entries = filter(readManifest(deps.blobs, key), (line) => index.has(line.label));
  return loadSnapshotImages(entries, { reader: deps.dataset, spec, classIndex: index, signal });
}

function assertJobInput(input: JobInput): void {
  const hp = input.hyperParameters;
  const problems = [
    !input.trial && !(Number.isInteger(input.version) && input.version >= 1) && `version must be an integer ≥ 1, got ${input.version}`,
    !(Number.isInteger(hp.epochs) && hp.epochs >= 1) && `epochs must be an integer ≥ 1, got ${hp.epochs}`,
    !(Number.isInteger(hp.batchSize) && hp.batchSize >= 1) && `batchSize must be an integer ≥ 1, got ${hp.batchSize}`,
    !(hp.learningRate > 0 && Number.isFinite(hp.learningRate)) && `learningRate must be > 0, got ${hp.learningRate}`,
    !(hp.momentum >= 0 && hp.momentum < 1) && `momentum must be within [0, 1), got ${hp.momentum}`,
    !(input.replayRatio >= 0 && input.replayRatio <= 1) && `replayRatio must be within 0..1, got ${input.replayRatio}`,
    !Number.isFinite(input.seed) && `seed must be a finite number, got ${input.seed}`,
  ].filter((p): p is string => typeof p === 'string');
  if (problems.length) throw new InvalidArgumentError(problems.join('; '));
}

async function* filter<T>(source: AsyncIterable<T>, keep: (value: T) => boolean): AsyncGenerator<T> {
  for await (const value of source) if (keep(value)) yield value;
}

export type { ManifestLine };
