// The retraining rule's pure parts: new vs older, replay quotas, seeded selection, preconditions.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRng, FailedPreconditionError } from '@labelloop/common';
import type { DatasetInfo } from '../src/adapters/dataset-reader.js';
import { createReplaySelector, itemKind, replayQuotas } from '../src/domain/job/snapshot-plan.js';
import { planSnapshot, type SnapshotCounts } from '../src/domain/job/snapshot-source.js';

const cutoff = new Date('2026-01-01T00:00:00.000Z');
const before = new Date(cutoff.getTime() - 1);
const later = new Date(cutoff.getTime() + 1);

test('itemKind: test and validation keep their roles; train items are new after the cutoff or without a champion', () => {
  assert.equal(itemKind({ split: 'test', labeledAt: later }, cutoff), 'test');
  assert.equal(itemKind({ split: 'validation', labeledAt: later }, cutoff), 'validation');
  assert.equal(itemKind({ split: 'train', labeledAt: later }, cutoff), 'new');
  assert.equal(itemKind({ split: 'train', labeledAt: cutoff }, cutoff), 'older');
  assert.equal(itemKind({ split: 'train', labeledAt: before }, cutoff), 'older');
  assert.equal(itemKind({ split: 'train', labeledAt: before }, undefined), 'new');
  assert.equal(itemKind({ split: undefined, labeledAt: later }, cutoff), undefined);
});

test('replayQuotas: ratio × older items, as even over the classes as their counts allow', () => {
  const rng = () => createRng(3);
  assert.deepEqual(replayQuotas([10, 10, 10], 0.5, rng()), [5, 5, 5]);
  // 0.5 × 103 = 51.5 → 52: the small classes give all they have, the rest split the remainder.
  const quotas = replayQuotas([2, 1, 50, 50], 0.5, rng());
  assert.equal(quotas.reduce((s, q) => s + q, 0), 52);
  assert.deepEqual(quotas.slice(0, 2), [2, 1]);
  assert.deepEqual(quotas.slice(2).sort(), [24, 25]);
  // Uneven totals: every class within one of the others, the extras drawn by the seed.
  const uneven = replayQuotas([9, 9, 9, 9], 0.25, rng()); // 9 over 4 classes
  assert.deepEqual([...uneven].sort(), [2, 2, 2, 3]);
  assert.deepEqual(replayQuotas([9, 9, 9, 9], 0.25, rng()), uneven, 'same seed, same quotas');
  assert.deepEqual(replayQuotas([0, 4], 1, rng()), [0, 4]);
  assert.deepEqual(replayQuotas([3, 4], 0, rng()), [0, 0]);
  assert.throws(() => replayQuotas([1], 1.5, rng()), RangeError);
});

test('createReplaySelector picks exactly the quota of each class, seeded', () => {
  const counts = [40, 7, 0];
  const quotas = [13, 7, 0];
  const pick = (seed: number) => {
    const select = createReplaySelector(counts, quotas, createRng(seed));
    const chosen: number[][] = [[], [], []];
    // The classes interleaved, as a dataset's order would have them.
    const order = createRng(99).shuffle([...new Array<number>(40).fill(0), ...new Array<number>(7).fill(1)]);
    order.forEach((c, i) => select(c) && chosen[c]!.push(i));
    return chosen;
  };
  const a = pick(1);
  assert.deepEqual(a.map((c) => c.length), quotas);
  assert.deepEqual(pick(1), a);
  assert.notDeepEqual(pick(2)[0], a[0]);
  // Items beyond the counted ones (labelled between the passes) are never replayed.
  const select = createReplaySelector([1], [1], createRng(1));
  assert.equal(select(0), true);
  assert.equal(select(0), false);
});

const dataset: DatasetInfo = {
  id: 'ds',
  name: 'digits',
  classes: ['a', 'b', 'c'],
  image: { width: 28, height: 28, channels: 1 },
  splits: { train: 0.7, validation: 0.15, test: 0.15 },
};
const counts = (c: Partial<SnapshotCounts>): SnapshotCounts => ({
  newTrain: [0, 0, 0], olderTrain: [0, 0, 0], validation: [0, 0, 0], test: [1, 1, 0], skipped: 0, ...c,
});

test('planSnapshot refuses snapshots that cannot train or be evaluated, with a reason', () => {
  assert.throws(() => planSnapshot(dataset, counts({}), 0.5, 1), (e: Error) => e instanceof FailedPreconditionError && /no labelled train items/.test(e.message));
  assert.throws(
    () => planSnapshot(dataset, counts({ newTrain: [5, 0, 0] }), 0.5, 1),
    (e: Error) => e instanceof FailedPreconditionError && /at least 2 classes/.test(e.message),
  );
  assert.throws(
    () => planSnapshot(dataset, counts({ newTrain: [5, 5, 0], test: [0, 0, 0] }), 0.5, 1),
    (e: Error) => e instanceof FailedPreconditionError && /no test-split items.*label about 7 items of one class/.test(e.message),
  );
  // Replay alone can make up the train set of a retrain.
  const plan = planSnapshot(dataset, counts({ olderTrain: [4, 4, 4] }), 0.5, 1);
  assert.deepEqual(plan.quotas, [2, 2, 2]);
});
