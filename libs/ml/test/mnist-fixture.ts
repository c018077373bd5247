// Real MNIST digits as an in-memory ImageSet, for the models/training/predict tests.
import { mnistLabel, mnistPixels, type MnistSet } from '@labelloop/testing';
import { ImageSet } from '../src/data/image-set.js';

export function mnistImageSet(set: MnistSet, from: number, n: number): ImageSet {
  const x = new Uint8Array(n * 784);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    x.set(mnistPixels(set, from + i), i * 784);
    y[i] = mnistLabel(set, from + i);
  }
  return new ImageSet(x, y, [28, 28, 1]);
}
