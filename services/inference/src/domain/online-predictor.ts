// Online prediction: a batch of image files against the dataset's champion. The champion is
// leased for the whole call (a swap meanwhile does not touch it); images are decoded and resized
// to the model's input with sharp, then split across the predict workers.
import { InvalidArgumentError } from '@labelloop/common';
import { decodeImage, imageBytes, topK as topClasses } from '@labelloop/ml';
import pLimit from 'p-limit';
import type { InferenceMetrics } from '../metrics.js';
import type { PredictPool } from '../workers/predict-pool.js';
import type { ModelRegistry } from './model-registry.js';
import type { LoadedModel } from './types.js';

export const MAX_IMAGES_PER_REQUEST = 256;
export const DEFAULT_TOP_K = 3;
/** sharp decodes on libuv's threads; a few in flight keep them busy without a burst of memory. */
const DECODE_CONCURRENCY = 8;

export interface ImageFile {
  fileName: string;
  content: Uint8Array;
}

export interface ClassScore {
  label: string;
  probability: number;
}

export interface FilePrediction {
  fileName: string;
  label: string;
  /** Calibrated probability of `label`. */
  confidence: number;
  topK: ClassScore[];
}

export interface PredictInput {
  datasetId: string;
  images: ImageFile[];
  /** Suggestions per image; 0 = DEFAULT_TOP_K; capped at the number of classes. */
  topK: number;
}

export interface PredictResult {
  predictions: FilePrediction[];
  model: LoadedModel;
}

export class OnlinePredictor {
  private readonly decodeLimit = pLimit(DECODE_CONCURRENCY);

  constructor(
    private readonly deps: { registry: ModelRegistry; pool: PredictPool; metrics: InferenceMetrics },
  ) {}

  async predict(input: PredictInput): Promise<PredictResult> {
    const started = performance.now();
    if (!input.datasetId) throw new InvalidArgumentError('dataset_id is required');
    const n = input.images.length;
    if (n < 1 || n > MAX_IMAGES_PER_REQUEST) {
      throw new InvalidArgumentError(`a request takes 1 to ${MAX_IMAGES_PER_REQUEST} images, got ${n}`, { images: n });
    }
    if (!Number.isInteger(input.topK) || input.topK < 0) throw new InvalidArgumentError(`top_k must be an integer ≥ 0, got ${input.topK}`);
    const lease = this.deps.registry.acquireChampion(input.datasetId);
    try {
      const { model } = lease;
      const pixels = await this.decodeAll(input.images, model);
      const out = await this.deps.pool.predict(model.artifactPrefix, pixels, n, { temperature: model.temperature, mcSamples: 0, embeddings: false });
      const k = Math.min(input.topK || DEFAULT_TOP_K, model.classes.length);
      const predictions = input.images.map((image, i): FilePrediction => {
        const top = topClasses(out.probabilities.subarray(i * out.classes, (i + 1) * out.classes), k).map((c) => ({
          label: model.classes[c.classIndex]!,
          probability: c.probability,
        }));
        return { fileName: image.fileName, label: top[0]!.label, confidence: top[0]!.probability, topK: top };
      });
      this.deps.metrics.images(input.datasetId, 'online', n);
      this.deps.metrics.predictSeconds((performance.now() - started) / 1000);
      return { predictions, model };
    } finally {
      lease.release();
    }
  }

  /** uint8 NHWC pixels of every image; the first undecodable one fails the request, named. */
  private async decodeAll(images: ImageFile[], model: LoadedModel): Promise<Uint8Array> {
    const size = imageBytes(model.imageSpec);
    const pixels = new Uint8Array(images.length * size);
    await Promise.all(
      images.map((image, i) =>
        this.decodeLimit(async () => {
          const name = image.fileName || `image ${i + 1}`;
          if (image.content.length === 0) throw new InvalidArgumentError(`${name} is empty`, { fileName: image.fileName, index: i });
          try {
            pixels.set(await decodeImage(image.content, model.imageSpec), i * size);
          } catch (err) {
            throw new InvalidArgumentError(`${name} is not a readable image: ${(err as Error).message}`, { fileName: image.fileName, index: i });
          }
        }),
      ),
    );
    return pixels;
  }
}
