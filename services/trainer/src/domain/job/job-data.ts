// Images for a snapshot: fetched through the dataset service a few at a time, decoded with libs/ml
// to the model's input size and kept as uint8 (train and validation only; the test split is
// streamed again at evaluation).
import { decodeImage, ImageSet, type ImageSpec, imageBytes } from '@labelloop/ml';
import type { DatasetReader } from '../../adapters/dataset-reader.js';
import type { ManifestLine } from './manifest.js';

/** Images fetched and decoding at once: enough to hide gRPC latency and keep sharp busy. */
export const IMAGE_CONCURRENCY = 8;

/**
 * Maps an async source through `fn` with at most `concurrency` calls in flight, yielding results in
 * source order. The source is pulled only as results are consumed, so memory stays bounded.
 */
export async function* mapConcurrent<T, R>(
  source: AsyncIterable<T>,
  concurrency: number,
  fn: (value: T) => Promise<R>,
): AsyncGenerator<R> {
  const iterator = source[Symbol.asyncIterator]();
  const inFlight: Promise<R>[] = [];
  let done = false;
  try {
    for (;;) {
      while (!done && inFlight.length < concurrency) {
        const next = await iterator.next();
        if (next.done) done = true;
        else {
          const pending = fn(next.value);
          pending.catch(() => undefined); // awaited below, in order
          inFlight.push(pending);
        }
      }
      const oldest = inFlight.shift();
      if (!oldest) return;
      yield await oldest;
    }
  } finally {
    if (!done) await iterator.return?.();
  }
}

export type Decoded<T> = { entry: T; pixels: Uint8Array } | { entry: T; error: Error };

/** Fetches and decodes one item's image; a failure is a value (the item is skipped and counted). */
export async function fetchAndDecode<T extends { itemId: string }>(reader: DatasetReader, spec: ImageSpec, entry: T): Promise<Decoded<T>> {
  try {
    return { entry, pixels: await decodeImage(await reader.imageBytes(entry.itemId), spec) };
  } catch (error) {
    return { entry, error: error instanceof Error ? error : new Error(String(error)) };
  }
}

/** An ImageSet built one image at a time (capacity doubles, like an array list). */
export class ImageSetBuilder {
  private x: Uint8Array;
  private y: Int32Array;
  private n = 0;
  private readonly size: number;

  constructor(private readonly spec: ImageSpec) {
    this.size = imageBytes(spec);
    this.x = new Uint8Array(64 * this.size);
    this.y = new Int32Array(64);
  }

  get count(): number {
    return this.n;
  }

  add(pixels: Uint8Array, label: number): void {
    if (this.n === this.y.length) {
      const x = new Uint8Array(this.x.length * 2);
      x.set(this.x);
      const y = new Int32Array(this.y.length * 2);
      y.set(this.y);
      this.x = x;
      this.y = y;
    }
    this.x.set(pixels, this.n * this.size);
    this.y[this.n++] = label;
  }

  build(): ImageSet {
    const { width, height, channels } = this.spec;
    return new ImageSet(this.x.slice(0, this.n * this.size), this.y.slice(0, this.n), [height, width, channels]);
  }
}

export interface LoadedSnapshot {
  train: ImageSet;
  validation: ImageSet;
  newItems: number;
  replayedItems: number;
  testItems: number;
  undecodable: number;
  /** Labelled items left out before fetching: a label outside the class list, or no split. */
  unusable: number;
  /** Newest labeledAt among the used items (epoch 0 when none). */
  watermark: Date;
}

/**
 * Fetches and decodes the train and validation images of a snapshot's entries; `onEntry` sees every
 * entry that is kept (test entries unfetched), in order — the manifest writer.
 */
export async function loadSnapshotImages(
  entries: AsyncIterable<ManifestLine>,
  options: {
    reader: DatasetReader;
    spec: ImageSpec;
    classIndex: Map<string, number>;
    signal: AbortSignal;
    onEntry?: (entry: ManifestLine) => Promise<void>;
  },
): Promise<LoadedSnapshot> {
  const { reader, spec, classIndex, signal } = options;
  const train = new ImageSetBuilder(spec);
  const validation = new ImageSetBuilder(spec);
  const result = { newItems: 0, replayedItems: 0, testItems: 0, undecodable: 0, unusable: 0 };
  let watermark = 0;
  const work = (entry: ManifestLine): Promise<Decoded<ManifestLine> | { entry: ManifestLine }> =>
    entry.role === 'test' ? Promise.resolve({ entry }) : fetchAndDecode(reader, spec, entry);
  for await (const decoded of mapConcurrent(entries, IMAGE_CONCURRENCY, work)) {
    if (signal.aborted) break;
    const { entry } = decoded;
    if ('error' in decoded) {
      result.undecodable++;
      continue;
    }
    await options.onEntry?.(entry);
    watermark = Math.max(watermark, Date.parse(entry.labeledAt));
    if (!('pixels' in decoded)) {
      result.testItems++;
      continue;
    }
    const label = classIndex.get(entry.label)!;
    if (entry.role === 'validation') validation.add(decoded.pixels, label);
    else train.add(decoded.pixels, label);
    if (entry.role === 'new') result.newItems++;
    if (entry.role === 'replay') result.replayedItems++;
  }
  return { ...result, train: train.build(), validation: validation.build(), watermark: new Date(watermark) };
}
