// Label-error detection in the style of confident learning (Northcutt, Jiang & Chuang 2021): a label
// is suspect when the model confidently puts the item in another class. "Confidently" is per class:
// t_j is the model's mean self-confidence p_j over the items labelled j, so a class the model is
// generally unsure about does not flood the queue, and an absolute floor (minConfidence) on top.
import { InvalidArgumentError } from '@labelloop/common';

export interface LabelledPrediction {
  label: number;
  /** Calibrated class probabilities. */
  probabilities: ArrayLike<number>;
}

export interface SuspectLabelOptions {
  classCount: number;
  /** The suggested class's probability must also reach this (default 0.9). */
  minConfidence?: number;
}

/**
 * Indices of items whose given label the model contradicts: among the classes j with p_j ≥ t_j the most
 * probable one differs from the label, and its p_j ≥ minConfidence. Most suspicious first (largest
 * p_j − p_label; lower index on ties). A class with no labelled items has no t_j and is never suggested.
 */
export function suspectLabelErrors(items: readonly LabelledPrediction[], options: SuspectLabelOptions): number[] {
  const { classCount } = options;
  const minConfidence = options.minConfidence ?? 0.9;
  if (!Number.isInteger(classCount) || classCount < 2) throw new InvalidArgumentError(`classCount must be an integer ≥ 2, got ${classCount}`);
  if (!(minConfidence >= 0 && minConfidence <= 1)) throw new InvalidArgumentError(`minConfidence must be in [0, 1], got ${minConfidence}`);
  items.forEach((item, i) => {
    if (!Number.isInteger(item.label) || item.label < 0 || item.label >= classCount) {
      throw new InvalidArgumentError(`item ${i}: label ${item.label} is outside 0..${classCount - 1}`);
    }
    if (item.probabilities.length !== classCount) {
      throw new InvalidArgumentError(`item ${i}: ${item.probabilities.length} probabilities for ${classCount} classes`);
    }
  });
  const thresholds = perClassThresholds(items, classCount);
  const suspects: { index: number; margin: number }[] = [];
  items.forEach((item, index) => {
    const p = item.probabilities;
    let suggested = -1;
    for (let j = 0; j < classCount; j++) {
      if (p[j]! >= thresholds[j]! && (suggested < 0 || p[j]! > p[suggested]!)) suggested = j;
    }
    if (suggested >= 0 && suggested !== item.label && p[suggested]! >= minConfidence) {
      suspects.push({ index, margin: p[suggested]! - p[item.label]! });
    }
  });
  return suspects.sort((a, b) => b.margin - a.margin || a.index - b.index).map((s) => s.index);
}

/** t_j: mean p_j over the items labelled j (Infinity for a class with none). */
export function perClassThresholds(items: readonly LabelledPrediction[], classCount: number): number[] {
  const sums = new Array<number>(classCount).fill(0);
  const counts = new Array<number>(classCount).fill(0);
  for (const item of items) {
    sums[item.label]! += item.probabilities[item.label]!;
    counts[item.label]!++;
  }
  return sums.map((s, j) => (counts[j]! > 0 ? s / counts[j]! : Infinity));
}
