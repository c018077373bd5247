import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mnistPixels } from '@labelloop/testing';
import { augment, type ImageSpec } from '../src/data/index.js';
import { createRng } from '@labelloop/common';

const DIGIT: ImageSpec = { width: 28, height: 28, channels: 1 };

function digitBatch(indices: number[]) {
  const x = new Uint8Array(indices.length * 784);
  indices.forEach((idx, k) => x.set(mnistPixels('train', idx), k * 784));
  return { x, y: new Int32Array(indices.length), n: indices.length };
}

/** The (dx, dy) with |dx|, |dy| ≤ max for which `out` is `src` shifted (zero fill), if any. */
function findShift(src: Uint8Array, out: Uint8Array, spec: ImageSpec, max: number, flip = false): [number, number] | undefined {
  const { width: w, height: h, channels: ch } = spec;
  for (let dy = -max; dy <= max; dy++) {
    for (let dx = -max; dx <= max; dx++) {
      let same = true;
      for (let r = 0; r < h && same; r++) {
        for (let c = 0; c < w && same; c++) {
          const sr = r - dy;
          const shifted = c - dx;
          const sc = flip ? w - 1 - shifted : shifted;
          for (let k = 0; k < ch && same; k++) {
            const expected = sr < 0 || sr >= h || shifted < 0 || shifted >= w ? 0 : src[(sr * w + sc) * ch + k]!;
            same = out[(r * w + c) * ch + k] === expected;
          }
        }
      }
      if (same) return [dx, dy];
    }
  }
  return undefined;
}

test('digits: every MNIST image is shifted by at most 2 px, ink preserved, seeded', () => {
  const indices = Array.from({ length: 32 }, (_, i) => i);
  const original = digitBatch(indices);
  const batch = digitBatch(indices);
  assert.equal(augment(batch, DIGIT, 'digits', createRng(11)), batch);
  const shifts = new Set<string>();
  for (let i = 0; i < 32; i++) {
    const src = original.x.subarray(i * 784, (i + 1) * 784);
    const out = batch.x.subarray(i * 784, (i + 1) * 784);
    const shift = findShift(src, out, DIGIT, 2);
    assert.ok(shift, `image ${i} is not a ±2 px shift of the original`);
    shifts.add(shift.join());
    // MNIST digits sit in a 20×20 box centred in 28×28, so a 2 px shift loses no ink.
    assert.equal(out.reduce((s, v) => s + v, 0), src.reduce((s, v) => s + v, 0));
  }
  assert.ok(shifts.size >= 8, `only ${shifts.size} distinct shifts`);
  const again = digitBatch(indices);
  augment(again, DIGIT, 'digits', createRng(11));
  assert.deepEqual(again.x, batch.x);
  const other = digitBatch(indices);
  augment(other, DIGIT, 'digits', createRng(12));
  assert.notDeepEqual(other.x, batch.x);
});

test('digits with rotation: a zero-range rotation is exact; a small one keeps the image close', () => {
  const exact = digitBatch([0]);
  augment(exact, DIGIT, 'digits', createRng(1), { maxShift: 0, maxRotationDeg: 0 });
  assert.deepEqual(exact.x, digitBatch([0]).x);

  const src = digitBatch([0, 1, 2, 3]);
  const rotated = digitBatch([0, 1, 2, 3]);
  augment(rotated, DIGIT, 'digits', createRng(3), { maxShift: 0, maxRotationDeg: 10 });
  assert.notDeepEqual(rotated.x, src.x);
  for (let i = 0; i < 4; i++) {
    const a = src.x.subarray(i * 784, (i + 1) * 784);
    const b = rotated.x.subarray(i * 784, (i + 1) * 784);
    const inkA = a.reduce((s, v) => s + v, 0);
    const inkB = b.reduce((s, v) => s + v, 0);
    assert.ok(Math.abs(inkA - inkB) / inkA < 0.05, `ink ${inkA} → ${inkB}`);
    let dot = 0, na = 0, nb = 0;
    for (let p = 0; p < 784; p++) (dot += a[p]! * b[p]!), (na += a[p]! ** 2), (nb += b[p]! ** 2);
    assert.ok(dot / Math.sqrt(na * nb) > 0.6, `cosine ${dot / Math.sqrt(na * nb)}`);
  }
});

test('photos: flips (both ways seen), pad-and-crop shifts and brightness on RGB', () => {
  const spec: ImageSpec = { width: 8, height: 6, channels: 3 };
  const n = 40;
  const rng = createRng(5);
  // Values up to 200, so a factor ≤ 1.2 never clips and each image's factor can be read back.
  const src = Uint8Array.from({ length: n * 144 }, () => 20 + rng.int(181));

  const flipOnly = { x: src.slice(), y: new Int32Array(n), n };
  augment(flipOnly, spec, 'photos', createRng(8), { pad: 0, brightness: 0 });
  let flipped = 0;
  for (let i = 0; i < n; i++) {
    const a = src.subarray(i * 144, (i + 1) * 144);
    const b = flipOnly.x.subarray(i * 144, (i + 1) * 144);
    if (findShift(a, b, spec, 0, true)) flipped++;
    else assert.deepEqual(b, a, `image ${i} is neither the original nor its mirror`);
  }
  assert.ok(flipped > 5 && flipped < 35, `${flipped} of ${n} flipped`);

  const padded = { x: src.slice(), y: new Int32Array(n), n };
  augment(padded, spec, 'photos', createRng(9), { flip: false, brightness: 0, pad: 2 });
  let moved = 0;
  for (let i = 0; i < n; i++) {
    const shift = findShift(src.subarray(i * 144, (i + 1) * 144), padded.x.subarray(i * 144, (i + 1) * 144), spec, 2);
    assert.ok(shift, `image ${i} is not a pad-2 crop`);
    if (shift[0] !== 0 || shift[1] !== 0) moved++;
  }
  assert.ok(moved > 20, `${moved} of ${n} moved`);

  const bright = { x: src.slice(), y: new Int32Array(n), n };
  augment(bright, spec, 'photos', createRng(10), { flip: false, pad: 0, brightness: 0.2 });
  for (let i = 0; i < n; i++) {
    const a = src.subarray(i * 144, (i + 1) * 144);
    const b = bright.x.subarray(i * 144, (i + 1) * 144);
    // One factor per image: recover it from the brightest pixel, then check every pixel.
    let k = 0;
    for (let p = 1; p < 144; p++) if (a[p]! > a[k]!) k = p;
    const factor = b[k]! / a[k]!;
    assert.ok(factor >= 0.79 && factor <= 1.21, `factor ${factor}`);
    for (let p = 0; p < 144; p++) assert.ok(Math.abs(b[p]! - Math.min(255, a[p]! * factor)) <= 1.5);
  }
  // Brightening saturates at 255 instead of wrapping round.
  const white = { x: new Uint8Array(n * 144).fill(250), y: new Int32Array(n), n };
  augment(white, spec, 'photos', createRng(10), { flip: false, pad: 0, brightness: 0.2 });
  assert.ok(white.x.every((v) => v >= 200) && white.x.includes(255));
  assert.throws(() => augment({ x: new Uint8Array(10), y: new Int32Array(1), n: 1 }, spec, 'photos', createRng(1)), RangeError);
});
