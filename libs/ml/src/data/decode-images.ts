import { decodeImage } from './decode-image.js';
import { assertImageSpec, type ImageBatch, type ImageSpec, imageBytes } from './image-spec.js';

export interface LabelledImageBytes {
  bytes: Buffer | Uint8Array;
  label: number;
}

/** An item that could not be decoded; it is skipped. `index` counts items as they came from the source. */
export interface DecodeFailure {
  index: number;
  label: number;
  error: Error;
}

export interface DecodeImagesOptions {
  batchSize: number;
  /** Images decoding at once (sharp runs one thread here, so several in flight keep it busy). Default 4. */
  concurrency?: number;
  /** Finished batches held while the consumer is busy; the producer waits beyond that. Default 2. */
  maxBufferedBatches?: number;
  /** Called for each undecodable image; without it such images are skipped silently. */
  onError?: (failure: DecodeFailure) => void;
}

type Decoded = { index: number; label: number } & ({ pixels: Uint8Array } | { error: Error });

/** A one-slot wake-up: `wait()` resolves at the next `notify()`. */
function signal() {
  let resolve: (() => void) | undefined;
  return {
    wait: () => new Promise<void>((r) => (resolve = r)),
    notify: () => {
      const r = resolve;
      resolve = undefined;
      r?.();
    },
  };
}

function positiveInt(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

/**
 * Decodes and resizes (image bytes, label) items into uint8 NHWC batches, in source order, while the
 * consumer works on earlier batches. Memory stays bounded: at most `maxBufferedBatches` finished batches,
 * the one being filled and `concurrency` images in flight; when the consumer is slow the producer stops
 * pulling from the source. The last batch may be short. Undecodable images go to `onError` and are
 * skipped; an error of the source itself (or of `onError`) ends the iteration with that error.
 * Breaking out of the loop stops the producer and closes the source iterator.
 */
export async function* decodeImages(
  items: AsyncIterable<LabelledImageBytes> | Iterable<LabelledImageBytes>,
  spec: ImageSpec,
  options: DecodeImagesOptions,
): AsyncGenerator<ImageBatch> {
  assertImageSpec(spec);
  const batchSize = positiveInt('batchSize', options.batchSize);
  const concurrency = positiveInt('concurrency', options.concurrency ?? 4);
  const maxBuffered = positiveInt('maxBufferedBatches', options.maxBufferedBatches ?? 2);
  const bytesPerImage = imageBytes(spec);

  const queue: ImageBatch[] = [];
  const batchReady = signal();
  const spaceFreed = signal();
  let stopped = false;
  let finished = false;
  let failure: { error: unknown } | undefined;

  const push = async (batch: ImageBatch): Promise<void> => {
    while (queue.length >= maxBuffered && !stopped) await spaceFreed.wait();
    if (stopped) return;
    queue.push(batch);
    batchReady.notify();
  };

  const produce = async (): Promise<void> => {
    const source =
      Symbol.asyncIterator in items ? items[Symbol.asyncIterator]() : (items as Iterable<LabelledImageBytes>)[Symbol.iterator]();
    const inFlight: Promise<Decoded>[] = [];
    let x = new Uint8Array(batchSize * bytesPerImage);
    let y = new Int32Array(batchSize);
    let filled = 0;
    let index = 0;
    let sourceDone = false;
    try {
      while (!stopped) {
        while (!sourceDone && inFlight.length < concurrency) {
          const next = await source.next();
          if (next.done) {
            sourceDone = true;
            break;
          }
          const { bytes, label } = next.value;
          if (!Number.isInteger(label) || label < 0) {
            throw new RangeError(`item ${index} has label ${label}; labels are class indices (integers ≥ 0)`);
          }
          const meta = { index: index++, label };
          // Never rejects: a decode failure is a value, so nothing is left unhandled if we stop early.
          inFlight.push(
            decodeImage(bytes, spec).then(
              (pixels) => ({ ...meta, pixels }),
              (error: unknown) => ({ ...meta, error: error instanceof Error ? error : new Error(String(error)) }),
            ),
          );
        }
        const oldest = inFlight.shift();
        if (!oldest) break;
        const decoded = await oldest;
        if (stopped) break;
        if ('error' in decoded) {
          options.onError?.({ index: decoded.index, label: decoded.label, error: decoded.error });
          continue;
        }
        x.set(decoded.pixels, filled * bytesPerImage);
        y[filled++] = decoded.label;
        if (filled === batchSize) {
          await push({ x, y, n: filled });
          x = new Uint8Array(batchSize * bytesPerImage);
          y = new Int32Array(batchSize);
          filled = 0;
        }
      }
      if (!stopped && filled > 0) await push({ x: x.slice(0, filled * bytesPerImage), y: y.slice(0, filled), n: filled });
    } catch (error) {
      failure = { error };
    } finally {
      if (stopped || failure) await Promise.resolve(source.return?.()).catch(() => undefined);
      finished = true;
      batchReady.notify();
    }
  };

  const producer = produce();
  try {
    for (;;) {
      const batch = queue.shift();
      if (batch) {
        spaceFreed.notify();
        yield batch;
        continue;
      }
      if (finished) {
        if (failure) throw failure.error;
        return;
      }
      await batchReady.wait();
    }
  } finally {
    stopped = true;
    spaceFreed.notify();
    await producer;
  }
}
