import * as tf from '@tensorflow/tfjs';
import { EMBEDDING_LAYER, LOGITS_LAYER, layerFactory } from './layer-factory.js';
import type { ModelSpec } from './model-spec.js';

/**
 * The original design's AlexNet-style network. Every convolution is 'valid' (no padding): that is
 * what gives the design's parameter count (25,138,373 for 101 classes, 25,119,249 trainable) — the
 * last pool leaves 2×2×256 = 1,024 features for the first 4096-unit dense layer.
 */
export function buildAlexNet(spec: ModelSpec, seed: number | undefined): tf.Sequential {
  const f = layerFactory(seed);
  const rate = spec.dropout ?? 0.5;
  const pool = (): tf.layers.Layer => tf.layers.maxPooling2d({ poolSize: 3, strides: 2 });
  const norm = (name?: string): tf.layers.Layer => tf.layers.batchNormalization({ name });
  return tf.sequential({
    layers: [
      tf.layers.rescaling({ scale: 1 / 255, inputShape: spec.inputShape }),
      f.conv(90, 11, { strides: 4 }),
      pool(),
      norm(),
      f.conv(256, 5),
      pool(),
      norm(),
      f.conv(384, 3),
      norm(),
      f.conv(384, 3),
      norm(),
      f.conv(256, 3),
      pool(),
      norm(),
      tf.layers.flatten(),
      f.dense(4096),
      tf.layers.dropout({ rate }),
      norm(),
      f.dense(4096),
      tf.layers.dropout({ rate }),
      norm(EMBEDDING_LAYER),
      f.dense(spec.numClasses, { activation: 'linear', name: LOGITS_LAYER }),
    ],
  });
}
