import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { mnistCount, mnistLabel, mnistPng } from '../src/mnist.js';

test('MNIST images come out as real 28x28 grey PNGs with their labels', async () => {
  assert.equal(mnistCount('train'), 60000);
  assert.equal(mnistCount('test'), 10000);
  // The first training digits of MNIST are 5, 0, 4, 1, 9.
  assert.deepEqual([0, 1, 2, 3, 4].map((i) => mnistLabel('train', i)), [5, 0, 4, 1, 9]);
  const png = await mnistPng('test', 0);
  const meta = await sharp(png).metadata();
  assert.equal(meta.format, 'png');
  assert.equal(meta.width, 28);
  assert.equal(meta.height, 28);
  assert.equal(meta.channels, 1);
  assert.throws(() => mnistLabel('test', 10000), RangeError);
});
