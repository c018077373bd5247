import { InvalidArgumentError } from '@labelloop/common';
import type { PredictionInput } from './types.js';

// What RecordPredictions accepts: one prediction per item of the shard at most, a calibrated
// probability per class, finite numbers. A bad prediction refuses the whole call (nothing stored).

/** float32 probabilities summing to 1 drift by ~1e-7 per class; anything beyond this is not a distribution. */
const SUM_TOLERANCE = 1e-3;
export const MAX_EMBEDDING_LENGTH = 4096;

/** A prediction ready to store: the most probable class and its probability. */
export interface ValidPrediction extends PredictionInput {
  predicted: string;
  confidence: number;
}

export function validatePredictions(
  predictions: readonly PredictionInput[],
  shardItemIds: ReadonlySet<string>,
  classes: readonly string[],
): ValidPrediction[] {
  const seen = new Set<string>();
  let embeddingLength: number | undefined;
  return predictions.map((p, i) => {
    const where = `prediction ${i} (item "${p.itemId}")`;
    if (!shardItemIds.has(p.itemId)) throw new InvalidArgumentError(`${where} is not an item of this shard`);
    if (seen.has(p.itemId)) throw new InvalidArgumentError(`${where} is listed twice`);
    seen.add(p.itemId);
    if (p.probabilities.length !== classes.length) {
      throw new InvalidArgumentError(
        `${where} has ${p.probabilities.length} probabilities; the dataset has ${classes.length} classes`,
      );
    }
    let sum = 0;
    let best = 0;
    for (const [c, value] of p.probabilities.entries()) {
      if (!(Number.isFinite(value) && value >= 0 && value <= 1)) {
        throw new InvalidArgumentError(`${where}: probability ${c} is ${value}, not a number in [0, 1]`);
      }
      sum += value;
      if (value > p.probabilities[best]!) best = c;
    }
    if (Math.abs(sum - 1) > SUM_TOLERANCE) {
      throw new InvalidArgumentError(`${where}: probabilities sum to ${sum}, not 1`);
    }
    if (!Number.isFinite(p.acquisitionScore)) {
      throw new InvalidArgumentError(`${where}: acquisition_score is ${p.acquisitionScore}, not a finite number`);
    }
    if (p.embedding.length > 0) {
      if (p.embedding.length > MAX_EMBEDDING_LENGTH) {
        throw new InvalidArgumentError(`${where}: embedding longer than ${MAX_EMBEDDING_LENGTH}`);
      }
      embeddingLength ??= p.embedding.length;
      if (p.embedding.length !== embeddingLength) {
        throw new InvalidArgumentError(
          `${where}: embedding has ${p.embedding.length} values, others ${embeddingLength}`,
        );
      }
      if (!p.embedding.every(Number.isFinite)) throw new InvalidArgumentError(`${where}: embedding is not finite`);
    }
    return { ...p, predicted: classes[best]!, confidence: p.probabilities[best]! };
  });
}
