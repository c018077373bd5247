// The retraining rule, as pure functions: which labelled items are new, how many older ones each
// class replays, and a streaming seeded choice of exactly that many (no list of items is held).
import type { Rng } from '@labelloop/common';
import type { LabelledItem } from '../../adapters/dataset-reader.js';

export type SnapshotRole = 'new' | 'replay' | 'validation' | 'test';

/** What an item is to a snapshot before replay selection: 'older' train items are replay candidates. */
export type ItemKind = 'new' | 'older' | 'validation' | 'test';

/**
 * Validation and test items are always used in their roles (the test split is never trained on).
 * A train item is new when there is no champion or its label is later than the champion's label
 * watermark (a corrected label has a new labeledAt, so it counts as new too); otherwise it is older.
 * Items without a split are left out (undefined).
 */
export function itemKind(item: Pick<LabelledItem, 'split' | 'labeledAt'>, cutoff: Date | undefined): ItemKind | undefined {
  switch (item.split) {
    case 'test':
      return 'test';
    case 'validation':
      return 'validation';
    case 'train':
      return cutoff === undefined || item.labeledAt.getTime() > cutoff.getTime() ? 'new' : 'older';
    default:
      return undefined;
  }
}

/**
 * Replay quota per class: round(ratio × Σ older) items in all, spread as evenly over the classes as
 * their counts allow (water-filling: a class with fewer older items than its share gives them all and
 * the rest goes to the others). Where the total does not divide evenly, the classes that get one extra
 * are drawn with `rng`, so every quota is within one of the balanced level.
 */
export function replayQuotas(olderCounts: readonly number[], ratio: number, rng: Rng): number[] {
  if (!(ratio >= 0 && ratio <= 1)) throw new RangeError(`replayRatio must be within 0..1, got ${ratio}`);
  const quotas = olderCounts.map(() => 0);
  let remaining = Math.round(ratio * olderCounts.reduce((s, c) => s + c, 0));
  let open = olderCounts.map((_, c) => c).filter((c) => olderCounts[c]! > 0);
  while (remaining > 0 && open.length > 0) {
    const share = Math.floor(remaining / open.length);
    if (share === 0) {
      for (const c of rng.shuffle([...open]).slice(0, remaining)) quotas[c]!++;
      break;
    }
    for (const c of open) {
      const add = Math.min(share, olderCounts[c]! - quotas[c]!);
      quotas[c]! += add;
      remaining -= add;
    }
    open = open.filter((c) => quotas[c]! < olderCounts[c]!);
  }
  return quotas;
}

/**
 * Selection sampling (Knuth's Algorithm S) per class: called once per older item in a fixed order, it
 * picks exactly quota[c] of count[c] items, each subset equally likely, holding only two counters a class.
 */
export function createReplaySelector(counts: readonly number[], quotas: readonly number[], rng: Rng): (classIndex: number) => boolean {
  const seen = counts.map(() => 0);
  const chosen = counts.map(() => 0);
  return (c) => {
    const left = counts[c]! - seen[c]!;
    seen[c]!++;
    // Items beyond the counted ones (labelled between the two passes) are never replayed.
    if (left <= 0) return false;
    const pick = rng.next() * left < quotas[c]! - chosen[c]!;
    if (pick) chosen[c]!++;
    return pick;
  };
}
