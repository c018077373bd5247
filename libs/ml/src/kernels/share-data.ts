// Identity, and Cast to the same dtype, for the wasm backend: share the input's data instead of
// copying it, as the cpu and webgl backends do (tensors are immutable). The engine clones every
// tensor it saves for the backward pass, and tfjs' ReLU gradient casts float32 to float32: the
// backend's copying kernels cost ~6 ms a step on the 28×28 CNN.
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

function share(backend: unknown, x: tf.TensorInfo): tf.TensorInfo {
  (backend as BackendWasm).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

export function identityConfig(original: tf.KernelConfig): tf.KernelConfig {
  return {
    ...original,
    kernelFunc: (args) => {
      const x = args.inputs['x']!;
      return x.dtype === 'string' ? original.kernelFunc(args) : share(args.backend, x);
    },
  };
}

export function castConfig(original: tf.KernelConfig): tf.KernelConfig {
  return {
    ...original,
    kernelFunc: (args) => {
      const x = args.inputs['x']!;
      const { dtype } = args.attrs as unknown as tf.CastAttrs;
      return dtype === x.dtype && dtype !== 'string' ? share(args.backend, x) : original.kernelFunc(args);
    },
  };
}
