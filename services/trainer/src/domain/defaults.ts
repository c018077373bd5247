import { InvalidArgumentError } from '@labelloop/common';
import type { HyperParameters, RetrainPolicy } from './types.js';

/**
 * Hyper-parameters when a run names none, per image spec: Adam at 0.002 for 20 epochs, batch 32
 * (early stopping ends sooner when validation loss stops improving). The compact CNNs for
 * 28×28 grey and larger colour images train well with the same setting; bigger images
 * use a smaller batch to bound memory.
 */
export function defaultHyperParameters(image: { width: number; height: number }): HyperParameters {
  const big = image.width * image.height > 64 * 64;
  return { optimizer: 'adam', learningRate: 0.002, epochs: 20, momentum: 0.9, batchSize: big ? 16 : 32 };
}

export function defaultPolicy(datasetId: string): RetrainPolicy {
  return { datasetId, everyHumanLabels: 0, replayRatio: 0.5, promotionTolerance: 0, maxRecallDrop: 0.05 };
}

export function validateHyperParameters(hp: HyperParameters): HyperParameters {
  if (!(hp.learningRate > 0 && hp.learningRate <= 1)) throw new InvalidArgumentError('learning_rate must be in (0, 1]');
  if (!(Number.isInteger(hp.epochs) && hp.epochs >= 1 && hp.epochs <= 1000)) throw new InvalidArgumentError('epochs must be 1..1000');
  if (!(Number.isInteger(hp.batchSize) && hp.batchSize >= 1 && hp.batchSize <= 4096)) throw new InvalidArgumentError('batch_size must be 1..4096');
  if (!(hp.momentum >= 0 && hp.momentum < 1)) throw new InvalidArgumentError('momentum must be in [0, 1)');
  return hp;
}

export function validatePolicy(p: RetrainPolicy): RetrainPolicy {
  if (!(Number.isInteger(p.everyHumanLabels) && p.everyHumanLabels >= 0 && p.everyHumanLabels <= 1_000_000)) {
    throw new InvalidArgumentError('every_human_labels must be 0 (off) .. 1000000');
  }
  for (const [name, value] of [
    ['replay_ratio', p.replayRatio],
    ['promotion_tolerance', p.promotionTolerance],
    ['max_recall_drop', p.maxRecallDrop],
  ] as const) {
    if (!(value >= 0 && value <= 1)) throw new InvalidArgumentError(`${name} must be in [0, 1], got ${value}`);
  }
  return p;
}
