import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { mnistLabel, mnistPixels, mnistPng } from '@labelloop/testing';
import sharp from 'sharp';
import { decodeImage, type DecodeFailure, decodeImages, type ImageBatch, type LabelledImageBytes } from '../src/data/index.js';

const DIGIT = { width: 28, height: 28, channels: 1 } as const;

async function mnistItems(count: number, start = 0): Promise<LabelledImageBytes[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, k) => ({ bytes: await mnistPng('train', start + k), label: mnistLabel('train', start + k) })),
  );
}

async function* stream<T>(values: T[], counter?: { pulled: number; closed: boolean }): AsyncGenerator<T> {
  try {
    for (const v of values) {
      if (counter) counter.pulled++;
      yield v;
    }
  } finally {
    if (counter) counter.closed = true;
  }
}

test('decodeImage: an MNIST PNG at its own size gives the original pixels; other specs resize and convert', async () => {
  const png = await mnistPng('train', 0);
  assert.deepEqual(Buffer.from(await decodeImage(png, DIGIT)), Buffer.from(mnistPixels('train', 0)));

  const rgb = await decodeImage(png, { width: 32, height: 16, channels: 3 });
  assert.equal(rgb.length, 32 * 16 * 3);
  for (let i = 0; i < rgb.length; i += 3) assert.ok(rgb[i] === rgb[i + 1] && rgb[i] === rgb[i + 2], 'grey stays grey in RGB');

  // A red JPEG goes to one even grey (libvips weighs in linear light: ~127); an RGBA PNG is flattened onto black.
  const red = await sharp({ create: { width: 40, height: 30, channels: 3, background: { r: 255, g: 0, b: 0 } } }).jpeg().toBuffer();
  const grey = await decodeImage(red, { width: 8, height: 8, channels: 1 });
  assert.ok(grey.every((v) => Math.abs(v - grey[0]!) <= 1) && grey[0]! > 50 && grey[0]! < 160, `red as grey ${grey[0]}`);
  const halfTransparent = await sharp({ create: { width: 4, height: 4, channels: 4, background: { r: 200, g: 100, b: 0, alpha: 0.5 } } })
    .png()
    .toBuffer();
  const flat = await decodeImage(halfTransparent, { width: 4, height: 4, channels: 3 });
  assert.ok(Math.abs(flat[0]! - 100) <= 1 && Math.abs(flat[1]! - 50) <= 1 && flat[2] === 0, `flattened ${flat.subarray(0, 3)}`);

  await assert.rejects(decodeImage(Buffer.from('not an image'), DIGIT));
  await assert.rejects(decodeImage(png.subarray(0, 60), DIGIT));
});

test('decodeImages: MNIST PNGs become uint8 NHWC batches in source order, last batch short', async () => {
  const items = await mnistItems(150);
  const batches: ImageBatch[] = [];
  for await (const batch of decodeImages(stream(items), DIGIT, { batchSize: 64, concurrency: 4 })) batches.push(batch);
  assert.deepEqual(batches.map((b) => b.n), [64, 64, 22]);
  assert.equal(batches[2]!.x.length, 22 * 784);
  let k = 0;
  for (const batch of batches) {
    assert.ok(batch.x instanceof Uint8Array && batch.y instanceof Int32Array);
    for (let i = 0; i < batch.n; i++, k++) {
      assert.equal(batch.y[i], mnistLabel('train', k));
      assert.deepEqual(Buffer.from(batch.x.subarray(i * 784, (i + 1) * 784)), Buffer.from(mnistPixels('train', k)));
    }
  }
});

test('decodeImages: undecodable images are skipped and reported, not thrown', async () => {
  const items = await mnistItems(10);
  items.splice(3, 0, { bytes: Buffer.from('garbage'), label: 7 });
  items.push({ bytes: (await mnistPng('train', 10)).subarray(0, 50), label: 1 });
  const failures: DecodeFailure[] = [];
  const labels: number[] = [];
  for await (const batch of decodeImages(items, DIGIT, { batchSize: 4, onError: (f) => failures.push(f) })) {
    labels.push(...batch.y);
  }
  assert.deepEqual(labels, Array.from({ length: 10 }, (_, i) => mnistLabel('train', i)));
  assert.deepEqual(failures.map((f) => [f.index, f.label]), [[3, 7], [11, 1]]);
  assert.ok(failures.every((f) => f.error instanceof Error));
});

test('decodeImages: a slow consumer holds the producer to maxBufferedBatches', async () => {
  const items = await mnistItems(200);
  const counter = { pulled: 0, closed: false };
  const batchSize = 8;
  const maxBufferedBatches = 2;
  const concurrency = 3;
  let consumed = 0;
  let mostAhead = 0;
  for await (const batch of decodeImages(stream(items, counter), DIGIT, { batchSize, concurrency, maxBufferedBatches })) {
    consumed += batch.n;
    await sleep(40); // the consumer is much slower than decoding 8 small PNGs
    // Pulled but not consumed: buffered batches + the one being filled + images in flight.
    const ahead = counter.pulled - consumed;
    mostAhead = Math.max(mostAhead, ahead);
    assert.ok(ahead <= (maxBufferedBatches + 1) * batchSize + concurrency, `${ahead} items pulled ahead of the consumer`);
  }
  assert.equal(consumed, 200);
  // The producer did run ahead while the consumer slept (prefetch works), up to the bound.
  assert.ok(mostAhead >= maxBufferedBatches * batchSize, `only ${mostAhead} items ahead`);
});

test('decodeImages: breaking out closes the source; a source error reaches the consumer', async () => {
  const items = await mnistItems(100);
  const counter = { pulled: 0, closed: false };
  for await (const batch of decodeImages(stream(items, counter), DIGIT, { batchSize: 10 })) {
    assert.equal(batch.n, 10);
    break;
  }
  assert.ok(counter.closed);
  assert.ok(counter.pulled < 100);

  async function* failing(): AsyncGenerator<LabelledImageBytes> {
    yield* items.slice(0, 5);
    throw new Error('S3 went away');
  }
  const seen: number[] = [];
  await assert.rejects(async () => {
    for await (const batch of decodeImages(failing(), DIGIT, { batchSize: 2 })) seen.push(batch.n);
  }, /S3 went away/);
  assert.ok(seen.length <= 2);

  await assert.rejects(async () => {
    for await (const _ of decodeImages([{ bytes: items[0]!.bytes, label: -1 }], DIGIT, { batchSize: 2 })) void _;
  }, /label -1/);
  await assert.rejects(async () => {
    for await (const _ of decodeImages(items, DIGIT, { batchSize: 0 })) void _;
  }, /batchSize/);
});
