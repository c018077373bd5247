import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRng, InvalidArgumentError } from '@labelloop/common';
import { acquisitionScore, entropy } from '../src/index.js';

const close = (actual: number, expected: number) => assert.ok(Math.abs(actual - expected) < 1e-12, `${actual} ≠ ${expected}`);

describe('acquisitionScore', () => {
  const p = [0.5, 0.3, 0.2];

  it('least confidence, margin and entropy on a hand-computed vector', () => {
    close(acquisitionScore('least_confidence', p), 0.5);
    close(acquisitionScore('margin', p), 1 - (0.5 - 0.3));
    close(acquisitionScore('entropy', p), -(0.5 * Math.log(0.5) + 0.3 * Math.log(0.3) + 0.2 * Math.log(0.2)));
    // Order does not matter, the runner-up may come first.
    close(acquisitionScore('margin', [0.3, 0.2, 0.5]), 0.8);
    close(acquisitionScore('margin', [0.45, 0.45, 0.1]), 1);
  });

  it('ranks a confident prediction below an unsure one for every uncertainty strategy', () => {
    for (const strategy of ['least_confidence', 'margin', 'entropy'] as const) {
      assert.ok(acquisitionScore(strategy, [0.98, 0.01, 0.01]) < acquisitionScore(strategy, [0.4, 0.35, 0.25]), strategy);
    }
    close(entropy([1, 0, 0]), 0);
    close(entropy([0.25, 0.25, 0.25, 0.25]), Math.log(4));
  });

  it('BALD: H(mean p) − mean H(p_t), 0 when all samples agree', () => {
    const samples = [
      [0.9, 0.1],
      [0.1, 0.9],
    ];
    // mean [0.5, 0.5]: H = log 2; each sample's H = −(0.9 log 0.9 + 0.1 log 0.1).
    const h = -(0.9 * Math.log(0.9) + 0.1 * Math.log(0.1));
    close(acquisitionScore('bald', [0.5, 0.5], { mcSamples: samples }), Math.log(2) - h);
    const agree = Array.from({ length: 20 }, () => Float32Array.from([0.2, 0.7, 0.1]));
    assert.equal(acquisitionScore('bald', agree[0]!, { mcSamples: agree }), 0);
    // Disagreement, not uncertainty: 20 identical flat samples score 0, disagreeing confident ones score high.
    const flat = Array.from({ length: 20 }, () => [1 / 3, 1 / 3, 1 / 3]);
    assert.equal(acquisitionScore('bald', flat[0]!, { mcSamples: flat }), 0);
    assert.ok(acquisitionScore('bald', p, { mcSamples: [[1, 0, 0], [0, 1, 0], [0, 0, 1]] }) > 1);
  });

  it('random: the seeded generator, so the same seed gives the same order', () => {
    const a = Array.from({ length: 5 }, ((r) => () => acquisitionScore('random', p, { random: r }))(createRng(42).next));
    const b = Array.from({ length: 5 }, ((r) => () => acquisitionScore('random', p, { random: r }))(createRng(42).next));
    assert.deepEqual(a, b);
    assert.ok(a.every((x) => x >= 0 && x < 1));
    assert.equal(new Set(a).size, 5);
  });

  it('says what is missing', () => {
    assert.throws(() => acquisitionScore('bald', p), /MC-dropout samples/);
    assert.throws(() => acquisitionScore('bald', p, { mcSamples: [[0.5, 0.5]] }), InvalidArgumentError);
    assert.throws(() => acquisitionScore('random', p), /random generator/);
    assert.throws(() => acquisitionScore('nope' as never, p), InvalidArgumentError);
  });
});
