// MaxPoolGrad for the wasm backend. The backend's own kernel is a plain C loop and wrong when
// every value of a window is ≤ 0 (its running max starts at the smallest positive float).
// XNNPACK has no pooling gradient, and the tensor compositions we measured need Equal,
// Select, broadcasts or rank-6 transposes, which the wasm backend runs as slow generic
// loops; one pass of JavaScript over the wasm heap was the fastest (layer 1 of the 28×28 CNN
// at batch 64: 31 ms native, 7–14 ms composed, ~4 ms here).
// dy goes to the first position of each window (row-major) holding the window's max, as in
// TensorFlow and the cpu backend; overlapping windows add up.
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export interface MaxPoolGradAttrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

export function maxPoolGrad(
  backend: BackendWasm,
  dy: tf.TensorInfo,
  x: tf.TensorInfo,
  y: tf.TensorInfo,
  attrs: MaxPoolGradAttrs,
): tf.TensorInfo {
  if (x.dtype !== 'float32' || dy.dtype !== 'float32' || y.dtype !== 'float32') {
    throw new Error(`labelloop MaxPoolGrad needs float32 tensors, got ${x.dtype}`);
  }
  const info = tf.backend_util.computePool2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const { batchSize, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = info;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;
  const dx = backend.makeOutput(x.shape, 'float32');
  // Views taken after the last allocation: a growing wasm memory would detach them.
  const xs = backend.typedArrayFromHeap(x) as Float32Array;
  const ys = backend.typedArrayFromHeap(y) as Float32Array;
  const dys = backend.typedArrayFromHeap(dy) as Float32Array;
  const dxs = backend.typedArrayFromHeap(dx) as Float32Array;
  dxs.fill(0);
  const rowStride = w * c;
  let o = 0; // index into y and dy (NHWC order)
  for (let b = 0; b < batchSize; b++) {
    const image = b * h * rowStride;
    for (let i = 0; i < oh; i++) {
      const r0 = Math.max(i * sh - top, 0);
      const r1 = Math.min(i * sh - top + fh, h);
      for (let j = 0; j < ow; j++) {
        const c0 = Math.max(j * sw - left, 0);
        const c1 = Math.min(j * sw - left + fw, w);
        for (let ch = 0; ch < c; ch++, o++) {
          const max = ys[o]!;
          search: for (let r = r0; r < r1; r++) {
            let p = image + r * rowStride + c0 * c + ch;
            for (let col = c0; col < c1; col++, p += c) {
              if (xs[p] === max) {
                dxs[p]! += dys[o]!;
                break search;
              }
            }
          }
        }
      }
    }
  }
  return dx;
}

export const maxPoolGradConfig: tf.KernelConfig = {
  kernelName: tf.MaxPoolGrad,
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs, backend }) =>
    maxPoolGrad(backend as BackendWasm, inputs['dy']!, inputs['input']!, inputs['output']!, attrs as unknown as MaxPoolGradAttrs),
};
