// Conv2DBackpropInput for the wasm backend: the backend's own kernel is a plain loop (about 5×
// slower than XNNPACK here). dx is the convolution of dy — spread out by the stride — with the
// filter rotated by 180° and its in/out channels swapped.
import * as tf from '@tensorflow/tfjs';
import { asTensor, explicitPadding, pair, spread } from './kernel-utils.js';

export interface Conv2DBackpropInputAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape: [number, number, number, number];
}

/** Padding of the transposed convolution; null when it would be negative (explicit pads ≥ filter). */
function transposedPadding(info: tf.backend_util.Conv2DInfo): [number, number, number, number] | null {
  const spreadH = info.strideHeight * (info.outHeight - 1) + 1;
  const spreadW = info.strideWidth * (info.outWidth - 1) + 1;
  const { top, left } = info.padInfo;
  const pads: [number, number, number, number] = [
    info.filterHeight - 1 - top,
    info.inHeight + top - spreadH,
    info.filterWidth - 1 - left,
    info.inWidth + left - spreadW,
  ];
  return pads.every((p) => p >= 0) ? pads : null;
}

/** Whether conv2dBackpropInput handles these attributes (else the backend's own kernel runs). */
export function supportsBackpropInput(attrs: Conv2DBackpropInputAttrs, filterShape: readonly number[]): boolean {
  if (attrs.dataFormat === 'NCHW') return false;
  const info = tf.backend_util.computeConv2DInfo(
    attrs.inputShape,
    filterShape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  return transposedPadding(info) !== null;
}

export function conv2dBackpropInput(dy: tf.Tensor4D, filter: tf.Tensor4D, attrs: Conv2DBackpropInputAttrs): tf.Tensor4D {
  const info = tf.backend_util.computeConv2DInfo(attrs.inputShape, filter.shape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
  const pads = transposedPadding(info);
  if (pads === null || attrs.dataFormat === 'NCHW') throw new Error('labelloop Conv2DBackpropInput: unsupported padding or layout');
  const [sh, sw] = pair(attrs.strides);
  return tf.tidy(() => {
    let spreadDy = spread(dy, [sh, sw]);
    if (sh > 1 || sw > 1) {
      // Trailing zeros past the last output row/column would shift the padding arithmetic.
      const [n, , , co] = dy.shape;
      spreadDy = tf.slice(spreadDy, [0, 0, 0, 0], [n, sh * (info.outHeight - 1) + 1, sw * (info.outWidth - 1) + 1, co]);
    }
    return tf.conv2d(spreadDy, rotateFilter(filter), 1, explicitPadding(...pads));
  });
}

/**
 * [kh, kw, ci, co] → [kh, kw, co, ci] turned by 180° spatially. The wasm Reverse kernel computes
 * an index per element (54 ms for a 3×3·384·384 filter); reversing the kh·kw positions is a
 * concatenation of contiguous blocks in the opposite order.
 */
function rotateFilter(filter: tf.Tensor4D): tf.Tensor4D {
  const [kh, kw, ci, co] = filter.shape;
  const swapped = tf.transpose(filter, [0, 1, 3, 2]).reshape([kh * kw, co * ci]);
  if (kh * kw === 1) return swapped.reshape([kh, kw, co, ci]);
  const blocks = Array.from({ length: kh * kw }, (_, p) => tf.slice(swapped, [kh * kw - 1 - p, 0], [1, co * ci]));
  return tf.concat(blocks, 0).reshape([kh, kw, co, ci]);
}

/** `fallback` is the wasm backend's own kernel, kept for layouts and paddings handled here. */
export function conv2dBackpropInputConfig(fallback: tf.KernelConfig | undefined): tf.KernelConfig {
  return {
    kernelName: tf.Conv2DBackpropInput,
    backendName: 'wasm',
    ...(fallback?.setupFunc ? { setupFunc: fallback.setupFunc } : {}),
    kernelFunc: (args) => {
      const attrs = args.attrs as unknown as Conv2DBackpropInputAttrs;
      const dy = asTensor<tf.Rank.R4>(args.inputs['dy']!);
      const filter = asTensor<tf.Rank.R4>(args.inputs['filter']!);
      if (fallback && !supportsBackpropInput(attrs, filter.shape)) return fallback.kernelFunc(args);
      return conv2dBackpropInput(dy, filter, attrs);
    },
  };
}
