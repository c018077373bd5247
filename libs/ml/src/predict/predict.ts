import * as tf from '@tensorflow/tfjs';
import { InvalidArgumentError } from '@labelloop/common';
import { EMBEDDING_LAYER } from '../models/layer-factory.js';
import { firstDropoutIndex, forward, modelLayers } from '../models/forward.js';

export interface PredictOptions {
  /** Softmax temperature (fitted on validation); default 1. */
  temperature?: number;
  /** Classes to list per image, most probable first; default min(5, classes). */
  topK?: number;
  /** Stochastic passes with dropout on (MC dropout); default 0. */
  mcSamples?: number;
  /** Also return the penultimate-layer ('embedding') output. */
  embeddings?: boolean;
  /** Images per forward pass; default 256. */
  batchSize?: number;
  /** Seeds the MC-dropout masks (random when absent). */
  seed?: number;
}

export interface ClassProbability {
  classIndex: number;
  probability: number;
}

export interface ImagePrediction {
  logits: Float32Array;
  /** softmax(logits / temperature). */
  probabilities: Float32Array;
  topK: ClassProbability[];
  /** One probability vector per MC-dropout pass (same temperature). */
  mcSamples?: Float32Array[];
  embedding?: Float32Array;
}

/**
 * Predicts uint8 NHWC images (n·h·w·c bytes, the model's input size) in batches. Layers before the
 * first dropout run once per batch; only the rest is repeated for the MC-dropout passes.
 */
export async function predict(
  model: tf.LayersModel,
  images: Uint8Array,
  options: PredictOptions = {},
): Promise<ImagePrediction[]> {
  const [, h, w, c] = model.inputs[0]!.shape as [null, number, number, number];
  const size = h * w * c;
  const n = images.length / size;
  const temperature = options.temperature ?? 1;
  const mcSamples = options.mcSamples ?? 0;
  const batchSize = options.batchSize ?? 256;
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`images hold ${images.length} bytes, not a multiple of ${h}·${w}·${c}`);
  if (!(temperature > 0)) throw new InvalidArgumentError(`temperature must be > 0, got ${temperature}`);
  if (!Number.isInteger(mcSamples) || mcSamples < 0) throw new InvalidArgumentError(`mcSamples must be an integer ≥ 0`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new InvalidArgumentError(`batchSize must be an integer ≥ 1`);

  const layers = modelLayers(model);
  const dropoutAt = firstDropoutIndex(model);
  const embeddingAt = options.embeddings ? layers.findIndex((l) => l.name === EMBEDDING_LAYER) : -1;
  if (options.embeddings && embeddingAt < 0) throw new InvalidArgumentError(`model has no '${EMBEDDING_LAYER}' layer`);
  const mcSeed = options.seed ?? Math.floor(Math.random() * 0x7fffffff);
  const out: ImagePrediction[] = [];

  for (let start = 0; start < n; start += batchSize) {
    const m = Math.min(batchSize, n - start);
    const result = tf.tidy(() => {
      const x = tf.tensor4d(images.subarray(start * size, (start + m) * size), [m, h, w, c], 'int32').toFloat();
      let t: tf.Tensor = x;
      let prefix: tf.Tensor = x;
      let embedding: tf.Tensor | undefined;
      for (let i = 0; i < layers.length; i++) {
        if (i === dropoutAt) prefix = t;
        t = forward(model, t, { training: false, dropout: false, from: i, to: i + 1 });
        if (i === embeddingAt) embedding = t;
      }
      if (dropoutAt === layers.length) prefix = t;
      const logits = t;
      const probs = tf.softmax(logits.div(temperature));
      const mc = Array.from({ length: mcSamples }, (_, s) => {
        const sampled = forward(model, prefix, {
          training: false,
          dropout: true,
          from: dropoutAt,
          dropoutSeed: (layer) => `${mcSeed}:${start}:${s}:${layer}`,
        });
        return tf.softmax(sampled.div(temperature));
      });
      return { logits, probs, mc: mc.length > 0 ? tf.stack(mc) : undefined, embedding };
    });
    const tensors = [result.logits, result.probs, result.mc, result.embedding];
    const [logits, probs, mc, embedding] = await Promise.all(tensors.map((t) => (t ? t.data() : undefined)));
    tensors.forEach((t) => t?.dispose());
    const k = result.logits.shape[1]!;
    const d = result.embedding ? result.embedding.shape[1]! : 0;
    for (let j = 0; j < m; j++) {
      const p = (probs as Float32Array).slice(j * k, (j + 1) * k);
      const prediction: ImagePrediction = {
        logits: (logits as Float32Array).slice(j * k, (j + 1) * k),
        probabilities: p,
        topK: topK(p, options.topK ?? Math.min(5, k)),
      };
      if (mc) {
        prediction.mcSamples = Array.from({ length: mcSamples }, (_, s) =>
          (mc as Float32Array).slice((s * m + j) * k, (s * m + j + 1) * k),
        );
      }
      if (embedding) prediction.embedding = (embedding as Float32Array).slice(j * d, (j + 1) * d);
      out.push(prediction);
    }
  }
  return out;
}

/** The k most probable classes, most probable first (lower index first on ties). */
export function topK(probabilities: Float32Array, k: number): ClassProbability[] {
  if (!Number.isInteger(k) || k < 1) throw new InvalidArgumentError(`topK must be an integer ≥ 1, got ${k}`);
  return Array.from(probabilities, (probability, classIndex) => ({ classIndex, probability }))
    .sort((a, b) => b.probability - a.probability || a.classIndex - b.classIndex)
    .slice(0, k);
}
