import type * as tf from '@tensorflow/tfjs';
import { createRng, InvalidArgumentError, type Rng } from '@labelloop/common';
import { sampleWeights } from '../data/class-weights.js';
import type { ImageSet } from '../data/image-set.js';
import type { ImageBatch } from '../data/image-spec.js';
import type { TrainingEngine } from '../engine/types.js';
import { setModelWeights } from '../engine/local-engine.js';
import { buildModel } from '../models/build-model.js';
import type { EpochStats, TrainingProgress } from './progress.js';
import { validate } from './validate.js';

export interface TrainModelOptions {
  engine: TrainingEngine;
  train: ImageSet;
  /** Scored after every epoch; early stopping watches its loss (the training loss without it). */
  validation?: ImageSet;
  epochs: number;
  batchSize: number;
  /** Seeds the shuffles and augmentation; with a seeded engine the whole run is reproducible. */
  seed: number;
  /** Weight per class (e.g. classWeights(counts)), applied to each sample's loss. */
  classWeights?: ArrayLike<number>;
  /** Alters a batch in place (a fresh copy each time: the set is never touched). */
  augment?: (batch: ImageBatch, rng: Rng) => void;
  /**
   * Stop when the watched loss has not improved by more than minDelta for `patience` epochs; the
   * weights of the best epoch are restored at the end, whether the run stopped early or not.
   */
  earlyStopping?: { patience: number; minDelta?: number };
  onProgress?: (progress: TrainingProgress) => void;
  /** Aborting stops the run after the batch in progress. */
  signal?: AbortSignal;
  /**
   * Resume after this many finished epochs (the engine already holds their weights): training starts
   * at epoch resumeAfterEpoch + 1, and the shuffle and augmentation streams are first advanced past the
   * skipped epochs, so the data order matches an uninterrupted run. Default 0.
   */
  resumeAfterEpoch?: number;
  /** Awaited after each finished epoch (e.g. to checkpoint engine.getWeights()); not after a cancelled one. */
  afterEpoch?: (stats: EpochStats) => Promise<void>;
}

export interface TrainModelResult {
  history: EpochStats[];
  /** Epoch (from 1) with the lowest watched loss; 0 when no epoch finished. */
  bestEpoch: number;
  stoppedEarly: boolean;
  cancelled: boolean;
}

export async function trainModel(options: TrainModelOptions): Promise<TrainModelResult> {
  const { engine, train, validation, epochs, batchSize, signal, onProgress } = options;
  assertOptions(options);
  const rng = createRng(options.seed);
  const shuffleRng = rng.fork('shuffle');
  const augmentRng = rng.fork('augment');
  const batches = Math.ceil(train.n / batchSize);
  const history: EpochStats[] = [];
  const started = performance.now();
  const firstEpoch = (options.resumeAfterEpoch ?? 0) + 1;
  // Replays the skipped epochs' draws (shuffle, then augmentation batch by batch) without training.
  for (let epoch = 1; epoch < firstEpoch; epoch++) {
    for (const batch of train.batches(batchSize, shuffleRng)) options.augment?.(batch, augmentRng);
  }
  const totalImages = (epochs - firstEpoch + 1) * train.n;
  let imagesDone = 0;
  let best: { epoch: number; loss: number; weights?: Float32Array[] } = { epoch: 0, loss: Infinity };
  let stoppedEarly = false;
  let cancelled = false;
  let evalModel: tf.LayersModel | undefined;
  const eta = (): number => ((totalImages - imagesDone) * (performance.now() - started)) / 1000 / Math.max(imagesDone, 1);

  try {
    for (let epoch = firstEpoch; epoch <= epochs && !cancelled; epoch++) {
      const epochStart = performance.now();
      let stepMs = 0;
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      let batchIndex = 0;
      for (const batch of train.batches(batchSize, shuffleRng)) {
        // Let timers and I/O run (an abort from a timer, progress consumers) between steps.
        await new Promise((resolve) => setImmediate(resolve));
        if (signal?.aborted) {
          cancelled = true;
          break;
        }
        options.augment?.(batch, augmentRng);
        const weights = options.classWeights ? sampleWeights(batch.y, options.classWeights) : undefined;
        const t0 = performance.now();
        const { loss, accuracy } = await engine.step({ ...batch, weights });
        stepMs += performance.now() - t0;
        batchIndex++;
        seen += batch.n;
        imagesDone += batch.n;
        lossSum += loss * batch.n;
        correct += accuracy * batch.n;
        onProgress?.({
          kind: 'batch',
          epoch,
          epochs,
          batch: batchIndex,
          batches,
          loss,
          accuracy,
          imagesPerSecond: (seen * 1000) / stepMs,
          etaSeconds: eta(),
        });
      }
      if (cancelled) break;

      const stats: EpochStats = {
        epoch,
        loss: lossSum / seen,
        accuracy: correct / seen,
        imagesPerSecond: (seen * 1000) / stepMs,
        seconds: 0,
      };
      if (validation) {
        evalModel ??= isLocal(engine) ? engine.model : buildModel(engine.spec);
        if (!isLocal(engine)) setModelWeights(evalModel, await engine.getWeights());
        const v = await validate(evalModel, validation, Math.max(batchSize, 256));
        stats.valLoss = v.loss;
        stats.valAccuracy = v.accuracy;
      }
      stats.seconds = (performance.now() - epochStart) / 1000;
      history.push(stats);
      onProgress?.({ kind: 'epoch', epochs, etaSeconds: eta(), ...stats });
      await options.afterEpoch?.(stats);

      const watched = stats.valLoss ?? stats.loss;
      const minDelta = options.earlyStopping?.minDelta ?? 0;
      if (watched < best.loss - minDelta || best.epoch === 0) {
        best = { epoch, loss: watched, weights: options.earlyStopping ? await engine.getWeights() : undefined };
      } else if (options.earlyStopping && epoch - best.epoch >= options.earlyStopping.patience) {
        stoppedEarly = true;
        break;
      }
    }
    const lastEpoch = history.at(-1)?.epoch ?? 0;
    if (options.earlyStopping && !cancelled && best.weights && best.epoch !== lastEpoch) {
      await engine.setWeights(best.weights);
    }
    return { history, bestEpoch: best.epoch, stoppedEarly, cancelled };
  } finally {
    if (evalModel && !isLocal(engine)) evalModel.dispose();
  }
}

/** Engines that hold their model in this thread expose it: validation then reads it in place. */
function isLocal(engine: TrainingEngine): engine is TrainingEngine & { model: tf.LayersModel } {
  return 'model' in engine && typeof (engine as { model?: unknown }).model === 'object';
}

function assertOptions(o: TrainModelOptions): void {
  const [h, w, c] = o.engine.spec.inputShape;
  for (const [name, set] of [['train', o.train], ['validation', o.validation]] as const) {
    if (set && (set.shape[0] !== h || set.shape[1] !== w || set.shape[2] !== c)) {
      throw new InvalidArgumentError(`${name} images are ${set.shape.join('×')}, the model takes ${h}×${w}×${c}`);
    }
  }
  if (o.train.n === 0) throw new InvalidArgumentError('the training set is empty');
  if (!Number.isInteger(o.epochs) || o.epochs < 1) throw new InvalidArgumentError(`epochs must be ≥ 1, got ${o.epochs}`);
  const resume = o.resumeAfterEpoch ?? 0;
  if (!Number.isInteger(resume) || resume < 0 || resume >= o.epochs) {
    throw new InvalidArgumentError(`resumeAfterEpoch must be an integer in 0..${o.epochs - 1}, got ${resume}`);
  }
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1) {
    throw new InvalidArgumentError(`batchSize must be ≥ 1, got ${o.batchSize}`);
  }
  if (o.validation?.n === 0) throw new InvalidArgumentError('the validation set is empty');
  const es = o.earlyStopping;
  if (es && (!Number.isInteger(es.patience) || es.patience < 1 || (es.minDelta ?? 0) < 0)) {
    throw new InvalidArgumentError(`early stopping needs an integer patience ≥ 1 and minDelta ≥ 0`);
  }
  if (o.classWeights && o.classWeights.length !== o.engine.spec.numClasses) {
    throw new InvalidArgumentError(
      `classWeights has ${o.classWeights.length} entries, the model has ${o.engine.spec.numClasses} classes`,
    );
  }
}
