import * as tf from '@tensorflow/tfjs';
import { createRng, type Rng } from '@labelloop/common';

// Layers with seeded initializers: the same build seed gives the same weights on every backend
// (tfjs draws initial values in JS with seedrandom, not in a backend kernel).

/** The layer whose output is the image embedding (penultimate representation). */
export const EMBEDDING_LAYER = 'embedding';
/** The last layer: class logits, no softmax (softmax(logits / T) is applied outside). */
export const LOGITS_LAYER = 'logits';

export interface LayerFactory {
  conv(filters: number, kernelSize: number, options?: { strides?: number; padding?: 'valid' | 'same' }): tf.layers.Layer;
  dense(units: number, options?: { activation?: 'relu' | 'linear'; name?: string }): tf.layers.Layer;
}

export function layerFactory(seed: number | undefined): LayerFactory {
  const rng: Rng | undefined = seed === undefined ? undefined : createRng(seed).fork('init');
  // tfjs treats a seed of 0 as "unseeded": keep seeds non-zero.
  const nextSeed = (): number | undefined => (rng ? (rng.uint32() % 0x7fffffff) + 1 : undefined);
  return {
    conv: (filters, kernelSize, options = {}) =>
      tf.layers.conv2d({
        filters,
        kernelSize,
        strides: options.strides ?? 1,
        padding: options.padding ?? 'valid',
        activation: 'relu',
        kernelInitializer: tf.initializers.heNormal({ seed: nextSeed() }),
      }),
    dense: (units, options = {}) => {
      const activation = options.activation ?? 'relu';
      return tf.layers.dense({
        units,
        activation,
        name: options.name,
        kernelInitializer:
          activation === 'relu'
            ? tf.initializers.heNormal({ seed: nextSeed() })
            : tf.initializers.glorotUniform({ seed: nextSeed() }),
      });
    },
  };
}
