import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mnistLabel, mnistPixels, mnistPng } from '@labelloop/testing';
import { classCounts, classWeights, ImageSet, loadImageSet, sampleWeights } from '../src/data/index.js';
import { createRng } from '@labelloop/common';

test('loadImageSet collects MNIST PNGs into uint8 NHWC; bad bytes are reported and skipped', async () => {
  const items = await Promise.all(
    Array.from({ length: 300 }, async (_, i) => ({ bytes: await mnistPng('test', i), label: mnistLabel('test', i) })),
  );
  items.splice(100, 0, { bytes: Buffer.from('nope'), label: 0 });
  const failures: number[] = [];
  const set = await loadImageSet(items, { width: 28, height: 28, channels: 1 }, { onError: (f) => failures.push(f.index) });
  assert.deepEqual(failures, [100]);
  assert.equal(set.n, 300);
  assert.deepEqual(set.shape, [28, 28, 1]);
  assert.ok(set.x instanceof Uint8Array);
  assert.equal(set.x.length, 300 * 784);
  for (const i of [0, 150, 299]) {
    assert.deepEqual(Buffer.from(set.image(i)), Buffer.from(mnistPixels('test', i)));
    assert.equal(set.y[i], mnistLabel('test', i));
  }
});

function toySet(n: number): ImageSet {
  // 2×2 grey images whose pixels all hold the image index; label = index mod 3.
  const x = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) x.fill(i, i * 4, i * 4 + 4);
  return new ImageSet(x, Int32Array.from({ length: n }, (_, i) => i % 3), [2, 2, 1]);
}

test('batches: in order without rng; a seeded shuffle covers every image once; batches are copies', () => {
  const set = toySet(10);
  const ordered = [...set.batches(4)];
  assert.deepEqual(ordered.map((b) => b.n), [4, 4, 2]);
  assert.deepEqual(Array.from(ordered[2]!.x), [8, 8, 8, 8, 9, 9, 9, 9]);
  assert.deepEqual(Array.from(ordered[2]!.y), [2, 0]);

  const ids = (rngSeed: number) => [...set.batches(3, createRng(rngSeed))].flatMap((b) => Array.from({ length: b.n }, (_, i) => b.x[i * 4]!));
  const a = ids(1);
  assert.deepEqual([...a].sort((p, q) => p - q), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.notDeepEqual(a, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(ids(1), a);
  assert.notDeepEqual(ids(2), a);
  // Labels travel with their images.
  for (const b of set.batches(3, createRng(4))) for (let i = 0; i < b.n; i++) assert.equal(b.y[i], b.x[i * 4]! % 3);

  ordered[0]!.x.fill(200);
  assert.equal(set.x[0], 0, 'augmenting a batch in place leaves the set alone');
  assert.throws(() => [...set.batches(0)], RangeError);
});

test('subset copies the chosen images in the given order', () => {
  const set = toySet(6);
  const sub = set.subset([5, 1, 1]);
  assert.equal(sub.n, 3);
  assert.deepEqual(Array.from(sub.x), [5, 5, 5, 5, 1, 1, 1, 1, 1, 1, 1, 1]);
  assert.deepEqual(Array.from(sub.y), [2, 1, 1]);
  sub.x[0] = 99;
  assert.equal(set.x[20], 5);
  assert.throws(() => set.subset([6]), RangeError);
  assert.throws(() => new ImageSet(new Uint8Array(5), new Int32Array(1), [2, 2, 1]), RangeError);
});

test('classWeights: inverse frequency, mean 1 over present classes, 0 for empty classes', () => {
  const w = classWeights([10, 40, 0, 50]);
  // 1/10 : 1/40 : 1/50 = 20 : 5 : 4, scaled to mean 1 over the three present classes: ×3/29.
  const expected = [60 / 29, 15 / 29, 0, 12 / 29];
  for (let c = 0; c < 4; c++) assert.ok(Math.abs(w[c]! - expected[c]!) < 1e-6, `class ${c}: ${w[c]}`);
  assert.deepEqual(Array.from(classWeights([7, 7, 7])), [1, 1, 1]);
  assert.deepEqual(Array.from(classWeights([0, 0])), [0, 0]);
  assert.throws(() => classWeights([1, -1]), RangeError);

  // On a Caltech101-like imbalance, the weighted count of every class is the same.
  const counts = [40, 800, 123];
  const cw = classWeights(counts);
  const totals = counts.map((n, c) => n * cw[c]!);
  assert.ok(Math.abs(totals[0]! - totals[1]!) < 1e-3 && Math.abs(totals[1]! - totals[2]!) < 1e-3);

  const y = Int32Array.from([0, 3, 3, 1]);
  assert.deepEqual(Array.from(sampleWeights(y, w)), [w[0], w[3], w[3], w[1]]);
  assert.throws(() => sampleWeights([4], w), RangeError);
  assert.deepEqual(classCounts(Int32Array.from([0, 2, 2]), 4), [1, 0, 2, 0]);
  assert.deepEqual(toySet(7).classCounts(3), [3, 2, 2]);
});
