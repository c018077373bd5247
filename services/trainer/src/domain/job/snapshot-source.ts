// Builds a snapshot from the dataset in two streaming passes over its labelled items: the first
// counts (per class: new and older train items, validation, test) so the replay quotas and the
// preconditions are known before any image is fetched; the second yields each item with its role.
import { createRng, FailedPreconditionError } from '@labelloop/common';
import type { DatasetInfo, DatasetReader, LabelledItem } from '../../adapters/dataset-reader.js';
import type { ManifestLine } from './manifest.js';
import { createReplaySelector, itemKind, type ItemKind, replayQuotas } from './snapshot-plan.js';

export interface SnapshotCounts {
  /** Per class index. */
  newTrain: number[];
  olderTrain: number[];
  validation: number[];
  test: number[];
  /** Labels outside the class list, or items without a split. */
  skipped: number;
}

export interface SnapshotPlan {
  counts: SnapshotCounts;
  /** Older train items replayed per class. */
  quotas: number[];
}

export async function countSnapshot(
  reader: DatasetReader,
  dataset: DatasetInfo,
  cutoff: Date | undefined,
  signal?: AbortSignal,
): Promise<SnapshotCounts> {
  const k = dataset.classes.length;
  const counts: SnapshotCounts = { newTrain: zeros(k), olderTrain: zeros(k), validation: zeros(k), test: zeros(k), skipped: 0 };
  const index = classIndex(dataset.classes);
  const byKind: Record<ItemKind, number[]> = { new: counts.newTrain, older: counts.olderTrain, validation: counts.validation, test: counts.test };
  for await (const item of reader.labelledItems(dataset.id)) {
    if (signal?.aborted) break;
    const c = index.get(item.label);
    const kind = itemKind(item, cutoff);
    if (c === undefined || kind === undefined) counts.skipped++;
    else byKind[kind][c]!++;
  }
  return counts;
}

/** The quotas, after checking that the snapshot can train and be evaluated at all. */
export function planSnapshot(dataset: DatasetInfo, counts: SnapshotCounts, replayRatio: number, seed: number): SnapshotPlan {
  const quotas = replayQuotas(counts.olderTrain, replayRatio, createRng(seed).fork('replay-quotas'));
  const train = counts.newTrain.map((n, c) => n + quotas[c]!);
  const total = sum(train);
  if (total === 0) {
    throw new FailedPreconditionError(`dataset ${dataset.id} has no labelled train items to train on`, { datasetId: dataset.id });
  }
  const classesWithItems = train.filter((n) => n > 0).length;
  if (classesWithItems < 2) {
    throw new FailedPreconditionError(
      `training needs train items of at least 2 classes; dataset ${dataset.id} has ${classesWithItems}`,
      { datasetId: dataset.id, trainItems: total },
    );
  }
  if (sum(counts.test) === 0) {
    // The dataset gives each class's labels to the split furthest below its share, so about
    // 1/testShare labels of one class put the first one in the test split.
    const share = dataset.splits.test;
    const needed = share > 0 ? Math.ceil(1 / share) : undefined;
    throw new FailedPreconditionError(
      share > 0
        ? `dataset ${dataset.id} has no test-split items, so a model cannot be evaluated: with a test share of ${share}, label about ${needed} items of one class (${needed! * 2} over two classes) to get test items`
        : `dataset ${dataset.id} has no test split (test share 0), so a model cannot be evaluated`,
      { datasetId: dataset.id, labelsNeeded: needed },
    );
  }
  return { counts, quotas };
}

/**
 * The second pass: every usable item with its role, in the dataset's order. Older train items are
 * replayed by seeded selection sampling, the rest left out.
 */
export async function* snapshotEntries(
  reader: DatasetReader,
  dataset: DatasetInfo,
  cutoff: Date | undefined,
  plan: SnapshotPlan,
  seed: number,
): AsyncGenerator<ManifestLine> {
  const index = classIndex(dataset.classes);
  const replay = createReplaySelector(plan.counts.olderTrain, plan.quotas, createRng(seed).fork('replay-items'));
  for await (const item of reader.labelledItems(dataset.id)) {
    const c = index.get(item.label);
    const kind = itemKind(item, cutoff);
    if (c === undefined || kind === undefined || item.split === undefined) continue;
    if (kind === 'older' && !replay(c)) continue;
    yield manifestLine(item, item.split, kind === 'older' ? 'replay' : kind);
  }
}

function manifestLine(item: LabelledItem, split: ManifestLine['split'], role: ManifestLine['role']): ManifestLine {
  return {
    itemId: item.itemId,
    sha256: item.sha256,
    label: item.label,
    source: item.source,
    split,
    labeledAt: item.labeledAt.toISOString(),
    role,
  };
}

export function classIndex(classes: readonly string[]): Map<string, number> {
  return new Map(classes.map((name, i) => [name, i]));
}

const zeros = (k: number): number[] => new Array<number>(k).fill(0);
const sum = (values: readonly number[]): number => values.reduce((s, v) => s + v, 0);

/**
 * Human-labelled items (any split, dataset classes only) labelled at or before the snapshot's
 * watermark: the human effort behind a model version. Counted after training from the live
 * listing, so a resumed job (which trains on a frozen manifest) reports it the same way.
 */
export async function countHumanLabels(reader: DatasetReader, dataset: DatasetInfo, watermark: Date): Promise<number> {
  const index = classIndex(dataset.classes);
  let n = 0;
  for await (const item of reader.labelledItems(dataset.id)) {
    if (item.source === 'human' && index.has(item.label) && item.labeledAt.getTime() <= watermark.getTime()) n++;
  }
  return n;
}
