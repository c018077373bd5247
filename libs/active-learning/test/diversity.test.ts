import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRng } from '@labelloop/common';
import { kCenterGreedy, selectBatch } from '../src/index.js';

/** n points in a tight cluster (±0.05) around a centre. */
function cluster(centre: number[], n: number, random: () => number): number[][] {
  return Array.from({ length: n }, () => centre.map((c) => c + (random() - 0.5) * 0.1));
}

describe('kCenterGreedy', () => {
  it('picks spread points: one per cluster before a second from any', () => {
    const random = createRng(1).next;
    const centres = [[0, 0], [10, 0], [0, 10], [10, 10]];
    const points = centres.flatMap((c) => cluster(c, 25, random));
    const picked = kCenterGreedy(points, 4);
    assert.equal(picked.length, 4);
    assert.deepEqual(new Set(picked.map((i) => Math.floor(i / 25))), new Set([0, 1, 2, 3]));
    assert.equal(picked[0], 0);
    // Farthest from point 0 (cluster 0) is the opposite corner.
    assert.equal(Math.floor(picked[1]! / 25), 3);
  });

  it('starts away from already labelled points', () => {
    const points = [[0, 0], [0.1, 0], [5, 5], [9, 9]];
    // Points 0 and 3 are labelled already: (5, 5) first, then (0.1, 0), the only other point not on a centre.
    assert.deepEqual(kCenterGreedy(points, 2, { centers: [[0, 0], [9, 9]] }), [2, 1]);
    // Typed arrays, and the first pick chosen by the caller.
    assert.deepEqual(kCenterGreedy([Float32Array.of(0), Float32Array.of(3), Float32Array.of(1)], 3, { first: 2 }), [2, 1, 0]);
    assert.deepEqual(kCenterGreedy(points, 10).sort(), [0, 1, 2, 3]);
    assert.deepEqual(kCenterGreedy([], 3), []);
  });
});

describe('selectBatch', () => {
  it('takes the top candidates by score, then spreads them', () => {
    const random = createRng(2).next;
    // 30 high-scoring near-duplicates at the origin, 3 slightly lower-scoring points elsewhere, 67 low scorers.
    const embeddings = [...cluster([0, 0], 30, random), [10, 0], [0, 10], [10, 10], ...cluster([5, 5], 67, random)];
    const scores = [...Array.from({ length: 30 }, () => 0.9 + random() * 0.1), 0.8, 0.8, 0.8, ...Array.from({ length: 67 }, () => 0.1)];
    const batch = selectBatch(scores, embeddings, 4, { candidatesFactor: 10 });
    assert.equal(batch.length, 4);
    const topScored = scores.indexOf(Math.max(...scores.slice(0, 30)));
    assert.equal(batch[0], topScored);
    assert.deepEqual(new Set(batch.slice(1)), new Set([30, 31, 32]));
    // Plain top-k would have taken four near-duplicates.
    assert.ok(batch.slice(1).every((i) => scores[i]! < scores[topScored]!));
    // candidatesFactor 1: exactly the top k by score, only reordered.
    const top = selectBatch(scores, embeddings, 4, { candidatesFactor: 1 });
    assert.ok(top.every((i) => i < 30));
    assert.throws(() => selectBatch(scores, embeddings.slice(1), 4), /scores but/);
  });
});
