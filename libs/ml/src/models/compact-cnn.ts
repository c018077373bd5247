import * as tf from '@tensorflow/tfjs';
import { EMBEDDING_LAYER, LOGITS_LAYER, layerFactory } from './layer-factory.js';
import type { ModelSpec } from './model-spec.js';

// Compact CNNs for small images. All 3×3 convolutions + 2×2 max-pools, one dense layer (the
// embedding), dropout, then the logits.

/** cnn-28: the CNN — conv 3×3·32 → pool → conv 3×3·64 → pool → dense 128 → dropout → dense k. */
export function buildCnn28(spec: ModelSpec, seed: number | undefined): tf.Sequential {
  const f = layerFactory(seed);
  return tf.sequential({
    layers: [
      tf.layers.rescaling({ scale: 1 / 255, inputShape: spec.inputShape }),
      f.conv(32, 3),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      f.conv(64, 3),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      f.dense(128, { name: EMBEDDING_LAYER }),
      tf.layers.dropout({ rate: spec.dropout ?? 0.5 }),
      f.dense(spec.numClasses, { activation: 'linear', name: LOGITS_LAYER }),
    ],
  });
}

/**
 * cnn-32 / cnn-64: colour (or grey) images; 'same' convolutions, one conv block per halving,
 * three blocks at 32×32 (→ 4×4×128) and four at 64×64 (→ 4×4×128), dense 256 embedding.
 */
export function buildCnnBlocks(spec: ModelSpec, seed: number | undefined, filters: number[]): tf.Sequential {
  const f = layerFactory(seed);
  const layers: tf.layers.Layer[] = [tf.layers.rescaling({ scale: 1 / 255, inputShape: spec.inputShape })];
  for (const n of filters) {
    layers.push(f.conv(n, 3, { padding: 'same' }), tf.layers.maxPooling2d({ poolSize: 2 }));
  }
  layers.push(
    tf.layers.flatten(),
    f.dense(256, { name: EMBEDDING_LAYER }),
    tf.layers.dropout({ rate: spec.dropout ?? 0.5 }),
    f.dense(spec.numClasses, { activation: 'linear', name: LOGITS_LAYER }),
  );
  return tf.sequential({ layers });
}
