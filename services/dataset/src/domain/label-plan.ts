import { ConflictError, InvalidArgumentError } from '@labelloop/common';
import { assertKnownClass } from './dataset-rules.js';
import { chooseSplit, type SplitCounts } from './stratify.js';
import type { CurrentLabel, LabelRequest, LabelSource, Split, SplitRatios } from './types.js';

// Deciding what a label change does to an item: its new version, its split and the per-class
// split counters. Pure; adapters/item-labels.ts applies the plan inside one transaction while
// holding the item row and the counter rows of the classes involved.

/** Only these sources count towards stratification: they are ground truth. */
export function isTrusted(source: LabelSource): boolean {
  return source !== 'model';
}

export interface LabelState {
  label: CurrentLabel | null;
  split: Split | null;
  labelVersion: number;
}

/** A counter row (class × split) to move by one. */
export interface CountRef {
  className: string;
  split: Split;
}

export type LabelPlan =
  { kind: 'noop' } | { kind: 'change'; split: Split; version: number; release?: CountRef; take?: CountRef };

/** The class counter rows the change must lock (sorted, so concurrent changes lock in one order). */
export function classesToLock(state: LabelState, request: LabelRequest): string[] {
  const names = new Set([request.value]);
  if (state.label && isTrusted(state.label.source)) names.add(state.label.value);
  return [...names].sort();
}

/** Validates a label request against the dataset; throws InvalidArgumentError. */
export function validateLabelRequest(classes: readonly string[], request: LabelRequest): void {
  if (request.value === '') throw new InvalidArgumentError('label is required');
  assertKnownClass(classes, request.value);
  if (request.confidence !== null && !(request.confidence >= 0 && request.confidence <= 1)) {
    throw new InvalidArgumentError(`confidence must be between 0 and 1, got ${request.confidence}`);
  }
  if (
    request.expectedVersion !== undefined &&
    !(Number.isSafeInteger(request.expectedVersion) && request.expectedVersion >= 0)
  ) {
    throw new InvalidArgumentError(`expected_version must be a non-negative integer, got ${request.expectedVersion}`);
  }
}

/** `countsOfNewClass`: the trusted counters of `request.value` as they stand. */
export function planLabelChange(
  state: LabelState,
  request: LabelRequest,
  countsOfNewClass: SplitCounts,
  ratios: SplitRatios,
): LabelPlan {
  if (request.expectedVersion !== undefined && request.expectedVersion !== state.labelVersion) {
    throw new ConflictError(
      `item label is at version ${state.labelVersion}, not the expected ${request.expectedVersion}; reload and retry`,
      { currentVersion: state.labelVersion },
    );
  }
  const old = state.label;
  // The same label from the same kind of source changes nothing (no new version). A human
  // confirming a model's label is a change: it becomes ground truth and is stratified.
  if (old && old.value === request.value && old.source === request.source) return { kind: 'noop' };

  const oldTrusted = old !== null && isTrusted(old.source) && state.split !== null;
  const release: CountRef | undefined = oldTrusted ? { className: old.value, split: state.split! } : undefined;
  const split = nextSplit(state, request, oldTrusted, countsOfNewClass, ratios);
  const take: CountRef | undefined = isTrusted(request.source) ? { className: request.value, split } : undefined;
  return { kind: 'change', split, version: state.labelVersion + 1, release, take };
}

function nextSplit(
  state: LabelState,
  request: LabelRequest,
  oldTrusted: boolean,
  counts: SplitCounts,
  ratios: SplitRatios,
): Split {
  // The test split is frozen: models are compared on it over time, so its items never move.
  if (state.split === 'test') return 'test';
  // Model labels are not ground truth: they may train a model but never validate or test one,
  // so a model-labelled item goes to train only (and is left out of the stratification counts).
  if (request.source === 'model') return 'train';
  // An import entry under train/ validation/ test/ keeps the split it came with.
  if (request.split) return request.split;
  // Same class, now from another trusted source: the item is already stratified there.
  if (oldTrusted && state.label!.value === request.value && state.split) return state.split;
  // A new class (or a first trusted label): stratify there. The item is not counted in that
  // class yet, since the same-class case returned above.
  return chooseSplit(counts, ratios);
}

export type RemovalPlan = { kind: 'noop' } | { kind: 'remove'; version: number; release?: CountRef };

/**
 * Removing the label: a new version, and the trusted counter it held released. The item goes back
 * to having no split (as before its first label), so a later trusted label is stratified afresh.
 */
export function planLabelRemoval(state: LabelState): RemovalPlan {
  const old = state.label;
  if (!old) return { kind: 'noop' };
  const release: CountRef | undefined =
    isTrusted(old.source) && state.split !== null ? { className: old.value, split: state.split } : undefined;
  return { kind: 'remove', version: state.labelVersion + 1, release };
}
