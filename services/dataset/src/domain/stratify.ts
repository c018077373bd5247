import type { Split, SplitRatios } from './types.js';

/** Trusted (human and import) labelled items of one class per split. */
export interface SplitCounts {
  train: number;
  validation: number;
  test: number;
}

// Checked in this order and a later split must beat an earlier one strictly, so ties go to
// test, then validation, then train: small classes get their evaluation items first.
const TIE_ORDER: readonly Split[] = ['test', 'validation', 'train'];
const EPSILON = 1e-9;

/**
 * The split for one more item of a class: the one with the largest deficit
 * `ratio * (n + 1) - count`. The deficits sum to 1, so the winner's is positive and a split
 * with ratio 0 never wins; assigning one item at a time this way keeps every split of every
 * class within ±1 item of `ratio * n`.
 */
export function chooseSplit(counts: SplitCounts, ratios: SplitRatios): Split {
  const next = counts.train + counts.validation + counts.test + 1;
  let best: Split = 'test';
  let bestDeficit = -Infinity;
  for (const split of TIE_ORDER) {
    const deficit = ratios[split] * next - counts[split];
    if (deficit > bestDeficit + EPSILON) {
      best = split;
      bestDeficit = deficit;
    }
  }
  return best;
}
