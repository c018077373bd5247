// Batch diversity: a batch of the k top-scored items is often k near-copies of one confusing digit.
// k-center greedy (Sener & Savarese 2018, "core-set") picks, one at a time, the point farthest from
// everything chosen or already labelled, in the model's embedding space.
import { InvalidArgumentError } from '@labelloop/common';

export type Embedding = ArrayLike<number>;

export interface KCenterOptions {
  /** Embeddings of the already labelled items: the first pick is the point farthest from them. */
  centers?: readonly Embedding[];
  /** Without centers, the first pick (default 0, e.g. the top-scored candidate). */
  first?: number;
}

/** Indices of min(k, n) points in selection order, each the farthest (Euclidean) from all before it and the centers. */
export function kCenterGreedy(embeddings: readonly Embedding[], k: number, options: KCenterOptions = {}): number[] {
  if (!Number.isInteger(k) || k < 0) throw new InvalidArgumentError(`k must be an integer ≥ 0, got ${k}`);
  const n = embeddings.length;
  if (n === 0 || k === 0) return [];
  const d = embeddings[0]!.length;
  const centers = options.centers ?? [];
  for (const e of [...embeddings, ...centers]) {
    if (e.length !== d) throw new InvalidArgumentError(`embeddings must all have ${d} dimensions, got one of ${e.length}`);
  }
  // Squared distance from each point to its nearest chosen point or center.
  const nearest = new Float64Array(n).fill(Infinity);
  const chosen = new Uint8Array(n);
  const selected: number[] = [];
  const absorb = (center: Embedding) => {
    for (let i = 0; i < n; i++) {
      if (chosen[i]) continue;
      const dist = squaredDistance(embeddings[i]!, center, d);
      if (dist < nearest[i]!) nearest[i] = dist;
    }
  };
  const pick = (i: number) => {
    chosen[i] = 1;
    selected.push(i);
    absorb(embeddings[i]!);
  };
  for (const center of centers) absorb(center);
  if (centers.length === 0) {
    const first = options.first ?? 0;
    if (!Number.isInteger(first) || first < 0 || first >= n) throw new InvalidArgumentError(`first must be in 0..${n - 1}`);
    pick(first);
  }
  while (selected.length < Math.min(k, n)) {
    let best = -1;
    let bestDist = -1;
    for (let i = 0; i < n; i++) {
      if (!chosen[i] && nearest[i]! > bestDist) (best = i), (bestDist = nearest[i]!);
    }
    pick(best);
  }
  return selected;
}

export interface SelectBatchOptions {
  /** The top candidatesFactor·k items by score are the candidates (default 10). */
  candidatesFactor?: number;
  /** Embeddings of the already labelled items. */
  centers?: readonly Embedding[];
}

/**
 * k items to label: the top candidatesFactor·k by score (ties: lower index), then spread by k-center
 * greedy on their embeddings (starting from the top-scored one when there are no centers).
 * Returns indices into scores/embeddings, in selection order.
 */
export function selectBatch(
  scores: ArrayLike<number>,
  embeddings: readonly Embedding[],
  k: number,
  options: SelectBatchOptions = {},
): number[] {
  const factor = options.candidatesFactor ?? 10;
  if (!(factor >= 1)) throw new InvalidArgumentError(`candidatesFactor must be ≥ 1, got ${factor}`);
  if (scores.length !== embeddings.length) {
    throw new InvalidArgumentError(`${scores.length} scores but ${embeddings.length} embeddings`);
  }
  const candidates = topIndices(scores, Math.ceil(factor * k));
  const order = kCenterGreedy(
    candidates.map((i) => embeddings[i]!),
    k,
    { centers: options.centers },
  );
  return order.map((c) => candidates[c]!);
}

/** Indices of the `count` highest scores, highest first (lower index first on ties). */
export function topIndices(scores: ArrayLike<number>, count: number): number[] {
  return Array.from({ length: scores.length }, (_, i) => i)
    .sort((a, b) => scores[b]! - scores[a]! || a - b)
    .slice(0, Math.max(0, count));
}

function squaredDistance(a: Embedding, b: Embedding, d: number): number {
  let s = 0;
  for (let j = 0; j < d; j++) {
    const diff = a[j]! - b[j]!;
    s += diff * diff;
  }
  return s;
}
