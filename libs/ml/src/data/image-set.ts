import type { Rng } from '@labelloop/common';
import { type DecodeFailure, decodeImages, type LabelledImageBytes } from './decode-images.js';
import { assertImageSpec, type ImageBatch, type ImageSpec } from './image-spec.js';

/**
 * Decoded images held in memory as uint8 NHWC (a quarter of float32's size: 60,000 MNIST digits are 47 MB),
 * with their class indices.
 */
export class ImageSet {
  readonly n: number;
  /** Bytes of one image (h·w·c). */
  readonly imageBytes: number;

  constructor(
    readonly x: Uint8Array,
    readonly y: Int32Array,
    /** [height, width, channels], as ModelSpec.inputShape. */
    readonly shape: [number, number, number],
  ) {
    const [h, w, c] = shape;
    assertImageSpec({ height: h, width: w, channels: c as 1 | 3 });
    this.imageBytes = h * w * c;
    this.n = y.length;
    if (x.length !== this.n * this.imageBytes) {
      throw new RangeError(`image set x has ${x.length} bytes, expected ${this.n}·${h}·${w}·${c} = ${this.n * this.imageBytes}`);
    }
  }

  get spec(): ImageSpec {
    const [height, width, channels] = this.shape;
    return { width, height, channels: channels as 1 | 3 };
  }

  /** A view (no copy) of image i's pixels. */
  image(i: number): Uint8Array {
    if (!Number.isInteger(i) || i < 0 || i >= this.n) throw new RangeError(`image set has no image ${i}`);
    return this.x.subarray(i * this.imageBytes, (i + 1) * this.imageBytes);
  }

  /**
   * Batches over the whole set, the last one possibly short; shuffled with `rng`, in order without.
   * Each batch is a fresh copy, so it may be augmented in place without touching the set.
   */
  *batches(batchSize: number, rng?: Rng): Generator<ImageBatch> {
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
    const order = Int32Array.from({ length: this.n }, (_, i) => i);
    if (rng) rng.shuffle(order);
    for (let start = 0; start < this.n; start += batchSize) {
      yield this.gather(order.subarray(start, Math.min(start + batchSize, this.n)));
    }
  }

  /** A new set of the given images (copied), in the given order; indices may repeat. */
  subset(indices: ArrayLike<number>): ImageSet {
    const { x, y } = this.gather(indices);
    return new ImageSet(x, y, [...this.shape]);
  }

  /** Images per class, for classWeights; classes beyond the largest label count 0. */
  classCounts(numClasses: number): number[] {
    return classCounts(this.y, numClasses);
  }

  private gather(indices: ArrayLike<number>): ImageBatch {
    const n = indices.length;
    const x = new Uint8Array(n * this.imageBytes);
    const y = new Int32Array(n);
    for (let k = 0; k < n; k++) {
      const i = indices[k]!;
      x.set(this.image(i), k * this.imageBytes);
      y[k] = this.y[i]!;
    }
    return { x, y, n };
  }
}

export function classCounts(y: ArrayLike<number>, numClasses: number): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < y.length; i++) {
    const label = y[i]!;
    if (label < 0 || label >= numClasses) throw new RangeError(`label ${label} is outside 0..${numClasses - 1}`);
    counts[label]!++;
  }
  return counts;
}

export interface LoadImageSetOptions {
  concurrency?: number;
  onError?: (failure: DecodeFailure) => void;
}

/** Decodes every item (skipping undecodable ones, reported to onError) into one in-memory ImageSet. */
export async function loadImageSet(
  items: AsyncIterable<LabelledImageBytes> | Iterable<LabelledImageBytes>,
  spec: ImageSpec,
  options: LoadImageSetOptions = {},
): Promise<ImageSet> {
  const batches: ImageBatch[] = [];
  let n = 0;
  for await (const batch of decodeImages(items, spec, { ...options, batchSize: 256, maxBufferedBatches: 4 })) {
    batches.push(batch);
    n += batch.n;
  }
  const imageSize = spec.width * spec.height * spec.channels;
  const x = new Uint8Array(n * imageSize);
  const y = new Int32Array(n);
  let offset = 0;
  for (const batch of batches) {
    x.set(batch.x.subarray(0, batch.n * imageSize), offset * imageSize);
    y.set(batch.y.subarray(0, batch.n), offset);
    offset += batch.n;
  }
  return new ImageSet(x, y, [spec.height, spec.width, spec.channels]);
}
