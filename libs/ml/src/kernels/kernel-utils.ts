// Helpers shared by labelloop's wasm kernels. The kernels are compositions of tfjs ops (each of
// which runs a wasm kernel, most of them on XNNPACK); inside a kernel the engine's tape is off,
// so these ops are never recorded for backprop.
import * as tf from '@tensorflow/tfjs';

/**
 * The engine hands registered kernels the op's Tensors. A bare TensorInfo (a kernel calling
 * another directly) is refused: wrapping it would let our tidy free data we do not own.
 */
export function asTensor<R extends tf.Rank>(info: tf.TensorInfo): tf.Tensor<R> {
  if (info instanceof tf.Tensor) return info as tf.Tensor<R>;
  throw new Error('labelloop wasm kernels must be run through the tfjs engine (got a bare TensorInfo)');
}

export type Pair = [number, number];

/** `strides`, `filterSize` and friends come as a number or a pair. */
export function pair(value: number | readonly number[]): Pair {
  if (typeof value === 'number') return [value, value];
  return [value[0]!, value[1] ?? value[0]!];
}

/** Explicit NHWC padding for tf.conv2d: [[0,0],[top,bottom],[left,right],[0,0]]. */
export function explicitPadding(top: number, bottom: number, left: number, right: number): tf.backend_util.ExplicitPadding {
  return [
    [0, 0],
    [top, bottom],
    [left, right],
    [0, 0],
  ];
}

/**
 * Spreads `t` [n, h, w, c] onto a grid `step` times finer, values at the top-left of each
 * step×step cell and zeros elsewhere: [n, h·step, w·step, c]. Used to undo a stride.
 */
export function spread(t: tf.Tensor4D, step: Pair): tf.Tensor4D {
  const [sh, sw] = step;
  if (sh === 1 && sw === 1) return t;
  const [n, h, w, c] = t.shape;
  const cells = tf.pad(t.reshape([n, h, 1, w, 1, c]), [
    [0, 0],
    [0, 0],
    [0, sh - 1],
    [0, 0],
    [0, sw - 1],
    [0, 0],
  ]);
  return cells.reshape([n, h * sh, w * sw, c]);
}
