// Conv2DBackpropFilter for the wasm backend, which has none (so tfjs cannot train a
// convolution there at all). Two formulations, both made of XNNPACK-backed kernels:
//  - 'swap': a convolution of x with dy as the filter, batch and channels swapped. Each
//    output element sums over N·OH·OW, so XNNPACK runs it as one large GEMM. A stride s
//    of the forward conv becomes a dilation s of this filter.
//  - 'im2col': patches gathered by a convolution with a one-hot filter, then one matMul.
//    Cheaper when the patch is short (first layers: 1–3 input channels, 3×3 filters).
import * as tf from '@tensorflow/tfjs';
import { asTensor, explicitPadding } from './kernel-utils.js';

export type FilterGradMethod = 'swap' | 'im2col';

export interface Conv2DBackpropFilterAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

/**
 * im2col costs N·OH·OW·K² multiply-adds for K = kh·kw·ci, the gradient itself N·OH·OW·K·co:
 * use it while K stays below co (and a one-hot filter stays small).
 */
export function chooseFilterGradMethod(filterShape: readonly number[]): FilterGradMethod {
  const [kh, kw, ci, co] = filterShape as [number, number, number, number];
  const k = kh * kw * ci;
  return k <= co && k <= 512 ? 'im2col' : 'swap';
}

export function conv2dBackpropFilter(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  attrs: Conv2DBackpropFilterAttrs,
  method: FilterGradMethod = chooseFilterGradMethod(attrs.filterShape),
): tf.Tensor4D {
  if (attrs.dataFormat === 'NCHW') throw new Error('labelloop Conv2DBackpropFilter supports NHWC only');
  const info = tf.backend_util.computeConv2DInfo(
    x.shape,
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const { top, bottom, left, right } = info.padInfo;
  const [kh, kw, ci, co] = attrs.filterShape;
  return tf.tidy(() => {
    if (method === 'im2col') {
      const k = kh * kw * ci;
      const patches = tf.conv2d(x, oneHotFilter(kh, kw, ci), [info.strideHeight, info.strideWidth], explicitPadding(top, bottom, left, right));
      const m = info.batchSize * info.outHeight * info.outWidth;
      // dWᵀ = dyᵀ·patches: XNNPACK packs the right operand on every call, and patches [m, k]
      // is the smaller one (k < co). Transposes are explicit: the wasm matMul runs on XNNPACK
      // only without transpose flags.
      const gradT = tf.matMul(tf.transpose(dy.reshape([m, co])), patches.reshape([m, k]));
      return tf.transpose(gradT).reshape([kh, kw, ci, co]);
    }
    // out[c, a, b, o] = Σ_{i,j,n} xPadded[n, a + s·i, b + s·j, c] · dy[n, i, j, o]
    const xSwapped = tf.transpose(x, [3, 1, 2, 0]); // [ci, H, W, N]
    const dySwapped = tf.transpose(dy, [1, 2, 0, 3]); // [OH, OW, N, co]
    let grad = tf.conv2d(xSwapped, dySwapped, 1, explicitPadding(top, bottom, left, right), 'NHWC', [
      info.strideHeight,
      info.strideWidth,
    ]);
    // With 'valid' padding and a stride, rows past the last window can remain.
    if (grad.shape[1] !== kh || grad.shape[2] !== kw) grad = tf.slice(grad, [0, 0, 0, 0], [ci, kh, kw, co]);
    return tf.transpose(grad, [1, 2, 0, 3]);
  });
}

/** [kh, kw, ci, kh·kw·ci]: output channel (a·kw + b)·ci + c copies input (a, b, c). */
function oneHotFilter(kh: number, kw: number, ci: number): tf.Tensor4D {
  const k = kh * kw * ci;
  const values = new Float32Array(k * k);
  for (let p = 0; p < k; p++) values[p * k + p] = 1;
  return tf.tensor4d(values, [kh, kw, ci, k]);
}

export const conv2dBackpropFilterConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs }: { inputs: tf.NamedTensorInfoMap; attrs?: tf.NamedAttrMap }): tf.TensorInfo =>
    conv2dBackpropFilter(
      asTensor<tf.Rank.R4>(inputs['x']!),
      asTensor<tf.Rank.R4>(inputs['dy']!),
      attrs as unknown as Conv2DBackpropFilterAttrs,
    ),
} satisfies tf.KernelConfig;
