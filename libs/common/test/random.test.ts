import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRng } from '../src/index.js';

test('the same seed gives the same stream, different seeds differ', () => {
  const a = createRng(42);
  const b = createRng(42);
  const c = createRng(43);
  const xs = Array.from({ length: 100 }, () => a.next());
  assert.deepEqual(Array.from({ length: 100 }, () => b.next()), xs);
  assert.notDeepEqual(Array.from({ length: 100 }, () => c.next()), xs);
  for (const x of xs) assert.ok(x >= 0 && x < 1);
});

test('next is uniform and int is unbiased over a small range', () => {
  const rng = createRng(7);
  const n = 60_000;
  let sum = 0;
  const counts = new Array<number>(6).fill(0);
  for (let i = 0; i < n; i++) {
    sum += rng.next();
    counts[rng.int(6)]!++;
  }
  assert.ok(Math.abs(sum / n - 0.5) < 0.01, `mean ${sum / n}`);
  // Chi-square with 5 degrees of freedom: 20.5 is the 0.999 quantile.
  const expected = n / 6;
  const chi2 = counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
  assert.ok(chi2 < 20.5, `chi2 ${chi2} for ${counts}`);
  assert.throws(() => rng.int(0), RangeError);
  assert.throws(() => rng.int(1.5), RangeError);
});

test('normal has mean 0 and variance 1', () => {
  const rng = createRng(1);
  const n = 40_000;
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const z = rng.normal();
    s += z;
    s2 += z * z;
  }
  assert.ok(Math.abs(s / n) < 0.03, `mean ${s / n}`);
  assert.ok(Math.abs(s2 / n - 1) < 0.04, `variance ${s2 / n}`);
});

test('shuffle is an in-place permutation, seeded, on plain and typed arrays', () => {
  const a = Array.from({ length: 50 }, (_, i) => i);
  const out = createRng(3).shuffle(a);
  assert.equal(out, a);
  assert.deepEqual([...a].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
  assert.notDeepEqual(a, Array.from({ length: 50 }, (_, i) => i));
  const typed = Int32Array.from({ length: 50 }, (_, i) => i);
  createRng(3).shuffle(typed);
  assert.deepEqual(Array.from(typed), a);
  // Every position of a 3-element array is reachable: all 6 permutations appear.
  const seen = new Set<string>();
  const rng = createRng(9);
  for (let i = 0; i < 200; i++) seen.add(rng.shuffle([0, 1, 2]).join());
  assert.equal(seen.size, 6);
});

test('fork depends on seed and label, not on how far the parent has advanced', () => {
  const parent = createRng(5);
  const f1 = parent.fork('augment').next();
  parent.next();
  parent.next();
  assert.equal(parent.fork('augment').next(), f1);
  assert.notEqual(parent.fork('shuffle').next(), f1);
  assert.notEqual(createRng(6).fork('augment').next(), f1);
  assert.notEqual(parent.fork('augment').next(), createRng(5).next());
});
