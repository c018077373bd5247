// Sum for the wasm backend, fast path for the bias gradient of a convolution (sum of an NHWC
// tensor over N, H and W). The backend's kernel first transposes the reduced axes innermost —
// a full copy of the tensor — and then sums; here an XNNPACK average pool over H×W does most
// of the work and only an [N, C] sum remains.
import * as tf from '@tensorflow/tfjs';
import { asTensor } from './kernel-utils.js';

/** Whether the sum reduces exactly axes 0, 1, 2 of a rank-4 float32 tensor. */
function isSpatialBatchSum(x: tf.Tensor, axis: number | number[]): boolean {
  if (x.rank !== 4 || x.dtype !== 'float32') return false;
  const axes = tf.util.parseAxisParam(axis, x.shape).sort((p, q) => p - q);
  return axes.length === 3 && axes[0] === 0 && axes[1] === 1 && axes[2] === 2;
}

export function sumConfig(original: tf.KernelConfig): tf.KernelConfig {
  return {
    ...original,
    kernelFunc: (args) => {
      const x = asTensor(args.inputs['x']!);
      const { axis, keepDims } = args.attrs as unknown as tf.SumAttrs;
      if (!isSpatialBatchSum(x, axis)) return original.kernelFunc(args);
      return tf.tidy(() => {
        const [n, h, w, c] = x.shape as [number, number, number, number];
        const perImage = tf.avgPool(x as tf.Tensor4D, [h, w], [h, w], 'valid').reshape([n, c]);
        const total = tf.mul(tf.sum(perImage, 0), h * w);
        return keepDims ? total.reshape([1, 1, 1, c]) : total;
      });
    },
  };
}
