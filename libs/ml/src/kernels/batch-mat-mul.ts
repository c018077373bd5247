// BatchMatMul for the wasm backend: its kernel uses XNNPACK only when neither transpose flag is
// set, and a plain loop otherwise — which is what every dense-layer gradient asks for. The
// operands are transposed explicitly (a cheap copy) and handed to the backend's own kernel.
import * as tf from '@tensorflow/tfjs';
import { asTensor } from './kernel-utils.js';

function transposeLastTwo(t: tf.Tensor): tf.Tensor {
  const perm = t.shape.map((_, i) => i);
  const r = perm.length;
  [perm[r - 2], perm[r - 1]] = [perm[r - 1]!, perm[r - 2]!];
  return tf.transpose(t, perm);
}

export function batchMatMulConfig(original: tf.KernelConfig): tf.KernelConfig {
  const run = (args: Parameters<tf.KernelFunc>[0], a: tf.Tensor, b: tf.Tensor): tf.Tensor =>
    tf.engine().makeTensorFromTensorInfo(
      original.kernelFunc({ ...args, inputs: { a, b }, attrs: { ...args.attrs, transposeA: false, transposeB: false } }) as tf.TensorInfo,
    );
  return {
    ...original,
    kernelFunc: (args) => {
      const { transposeA, transposeB } = args.attrs as unknown as tf.BatchMatMulAttrs;
      if (!transposeA && !transposeB) return original.kernelFunc(args);
      return tf.tidy(() => {
        const a = asTensor(args.inputs['a']!);
        const b = asTensor(args.inputs['b']!);
        // XNNPACK packs the right operand on every call (it is new each step) and each explicit
        // transpose is a copy: compute C = op(a)·op(b), or Cᵀ = op(b)ᵀ·op(a)ᵀ, whichever
        // copies fewer values (dense layers at small batch: the weight matrix stays in place).
        const [m, n] = [transposeA ? a.shape[1]! : a.shape[0]!, transposeB ? b.shape[0]! : b.shape[1]!];
        const direct = (transposeA ? a.size : 0) + (transposeB ? b.size : 0) + b.size;
        const swapped = (transposeB ? 0 : b.size) + (transposeA ? 0 : a.size) + a.size + m * n;
        if (a.rank !== 2 || b.rank !== 2 || direct <= swapped) {
          return run(args, transposeA ? transposeLastTwo(a) : a, transposeB ? transposeLastTwo(b) : b);
        }
        return transposeLastTwo(run(args, transposeB ? b : transposeLastTwo(b), transposeA ? a : transposeLastTwo(a)));
      });
    },
  };
}
