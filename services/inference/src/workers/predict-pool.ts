// The pool of predict worker threads. A model is loaded into every worker (artifact objects are
// downloaded once here and handed to all of them); a batch is split into contiguous slices, one per
// worker, the least busy first, so one request keeps every core busy and concurrent requests spread.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { DomainError, InvalidArgumentError, type Logger, UnavailableError } from '@labelloop/common';
import type { BackendName, ModelSidecar } from '@labelloop/ml';
import type { BlobStore } from '@labelloop/storage';
import type { PredictOptions, PredictReply, Request, SerializedError, WorkerInit, WorkerMessage } from './protocol.js';

export type { PredictOptions } from './protocol.js';

export interface PredictPoolOptions {
  /** Worker threads (default: the cores). */
  workers?: number;
  /** The tfjs backend every worker starts (the one the main thread chose). */
  backend: BackendName;
  /** Where model artifacts are read from. */
  blobs: BlobStore;
  logger: Logger;
  /** A worker died: the pool is unusable from then on (the process should restart). */
  onFatal?: (err: Error) => void;
}

/** Flat row-major outputs for n images. */
export interface PoolPrediction {
  n: number;
  classes: number;
  /** n × classes calibrated probabilities. */
  probabilities: Float32Array;
  mcSamples?: Float32Array;
  embeddings?: Float32Array;
  embeddingSize: number;
}

export interface WorkerStats {
  worker: number;
  tasks: number;
  images: number;
}

/**
 * The entry point. Built, it is predict-worker.js. Run from source under tsx (tests), tsx's hooks
 * do not reach worker threads on Node 20: a small bootstrap registers tsx in the worker first.
 */
function workerEntry(): URL {
  if (!import.meta.url.endsWith('.ts')) return new URL('./predict-worker.js', import.meta.url);
  const entry = new URL('./predict-worker.ts', import.meta.url).href;
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const bootstrap = `const { register } = await import(${JSON.stringify(tsxApi)}); register(); await import(${JSON.stringify(entry)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(bootstrap)}`);
}

type RequestBody = Request extends infer R ? (R extends { id: number; type: 'load' | 'unload' | 'predict' } ? Omit<R, 'id'> : never) : never;
type OkReply = Extract<WorkerMessage, { kind: 'reply'; ok: true }>;

function deserialize(error: SerializedError): Error {
  return error.kind ? new DomainError(error.kind, error.message) : new Error(error.message);
}

class PoolWorker {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: OkReply) => void; reject: (e: Error) => void }>();
  readonly ready: Promise<string>;
  /** Images sent and not yet answered: the next slice goes to the least busy worker. */
  busyImages = 0;
  tasks = 0;
  images = 0;

  constructor(
    readonly index: number,
    readonly worker: Worker,
    onBlob: (key: string) => Promise<Uint8Array>,
    onDeath: (err: Error) => void,
  ) {
    let markReady: (backend: string) => void;
    let failReady: (err: Error) => void;
    this.ready = new Promise((resolve, reject) => ((markReady = resolve), (failReady = reject)));
    worker.on('message', (message: WorkerMessage) => {
      if (message.kind === 'ready') return markReady(message.backend);
      if (message.kind === 'blob') {
        onBlob(message.key).then(
          // A copy per worker, transferred: the worker owns its bytes.
          (bytes) => {
            const copy = new Uint8Array(bytes);
            this.send({ type: 'blob', id: message.id, bytes: copy }, [copy.buffer]);
          },
          (err: unknown) =>
            this.send({ type: 'blob', id: message.id, error: err instanceof DomainError ? { message: err.message, kind: err.kind } : { message: String((err as Error)?.message ?? err) } }),
        );
        return;
      }
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      this.pending.delete(message.id);
      if (message.ok) waiter.resolve(message);
      else waiter.reject(deserialize(message.error));
    });
    const die = (err: Error) => {
      failReady(err);
      for (const waiter of this.pending.values()) waiter.reject(err);
      this.pending.clear();
      onDeath(err);
    };
    worker.on('error', die);
    worker.on('exit', (code) => die(new Error(`predict worker ${index} exited (code ${code})`)));
  }

  private send(message: Request, transfer: ArrayBuffer[] = []): void {
    this.worker.postMessage(message, transfer);
  }

  request(body: RequestBody, transfer: ArrayBuffer[] = []): Promise<OkReply> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.send({ ...body, id } as Request, transfer);
    });
  }
}

export class PredictPool {
  private broken: Error | undefined;
  private closed = false;
  /** Artifact objects being handed to workers, downloaded once per load. */
  private readonly downloads = new Map<string, Promise<Uint8Array>>();

  private constructor(
    private readonly workers: PoolWorker[],
    /** The backend the workers run (for provenance). */
    readonly backend: string,
  ) {}

  static async start(options: PredictPoolOptions): Promise<PredictPool> {
    const count = options.workers ?? availableParallelism();
    if (!Number.isInteger(count) || count < 1) throw new InvalidArgumentError(`workers must be an integer ≥ 1, got ${count}`);
    let pool: PredictPool | undefined;
    const onBlob = (key: string): Promise<Uint8Array> => pool!.download(key, options.blobs);
    const onDeath = (err: Error) => {
      if (!pool || pool.closed || pool.broken) return;
      pool.broken = err;
      options.logger.error({ err }, 'predict worker died');
      options.onFatal?.(err);
    };
    const workers = Array.from({ length: count }, (_, index) => {
      const workerData: WorkerInit = { index, backend: options.backend };
      return new PoolWorker(index, new Worker(workerEntry(), { workerData }), onBlob, onDeath);
    });
    let backends: string[];
    try {
      backends = await Promise.all(workers.map((w) => w.ready));
    } catch (err) {
      await Promise.all(workers.map((w) => w.worker.terminate()));
      throw err;
    }
    pool = new PredictPool(workers, backends[0]!);
    options.logger.info({ workers: count, backend: pool.backend }, 'predict workers ready');
    return pool;
  }

  get size(): number {
    return this.workers.length;
  }

  private download(key: string, blobs: BlobStore): Promise<Uint8Array> {
    let bytes = this.downloads.get(key);
    if (!bytes) {
      bytes = blobs.getBuffer(key);
      this.downloads.set(key, bytes);
    }
    return bytes;
  }

  private assertUsable(): void {
    if (this.closed) throw new UnavailableError('the predict pool is closed');
    if (this.broken) throw new UnavailableError(`a predict worker died: ${this.broken.message}`);
  }

  /** Loads the artifact under `prefix` into every worker; returns its sidecar. */
  async load(prefix: string): Promise<ModelSidecar> {
    this.assertUsable();
    try {
      const replies = await Promise.allSettled(this.workers.map((w) => w.request({ type: 'load', key: prefix })));
      const failure = replies.find((r) => r.status === 'rejected');
      if (failure) {
        await this.unload(prefix).catch(() => undefined);
        throw (failure as PromiseRejectedResult).reason;
      }
      return (replies[0] as PromiseFulfilledResult<OkReply>).value.sidecar!;
    } finally {
      for (const key of this.downloads.keys()) if (key.startsWith(prefix)) this.downloads.delete(key);
    }
  }

  async unload(prefix: string): Promise<void> {
    if (this.closed) return;
    await Promise.all(this.workers.map((w) => w.request({ type: 'unload', key: prefix })));
  }

  /**
   * Predicts n uint8 NHWC images (the model's input size) with the model loaded under `prefix`,
   * split across the workers.
   */
  async predict(prefix: string, images: Uint8Array, n: number, options: PredictOptions): Promise<PoolPrediction> {
    this.assertUsable();
    if (n < 1 || images.length % n !== 0) throw new InvalidArgumentError(`${images.length} bytes do not hold ${n} images`);
    const bytesPerImage = images.length / n;
    const parts = Math.min(n, this.workers.length);
    // Least busy first; ties by index so a lone request uses every worker.
    const chosen = [...this.workers].sort((a, b) => a.busyImages - b.busyImages || a.index - b.index).slice(0, parts);
    let start = 0;
    const slices = chosen.map((worker, i) => {
      const count = Math.floor(n / parts) + (i < n % parts ? 1 : 0);
      const slice = { worker, start, count };
      start += count;
      return slice;
    });
    const replies = await Promise.all(
      slices.map(async ({ worker, start, count }, i) => {
        const part = images.slice(start * bytesPerImage, (start + count) * bytesPerImage);
        worker.busyImages += count;
        try {
          const seed = options.seed === undefined ? undefined : options.seed + i;
          const reply = await worker.request({ type: 'predict', key: prefix, images: part, n: count, options: { ...options, seed } }, [part.buffer]);
          worker.tasks++;
          worker.images += count;
          return reply.predict!;
        } finally {
          worker.busyImages -= count;
        }
      }),
    );
    return concat(replies, slices.map((s) => s.count), options);
  }

  /** Work done per worker since start. */
  stats(): WorkerStats[] {
    return this.workers.map((w) => ({ worker: w.index, tasks: w.tasks, images: w.images }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }
}

function concat(parts: PredictReply[], counts: number[], options: PredictOptions): PoolPrediction {
  const n = counts.reduce((a, b) => a + b, 0);
  const classes = parts[0]!.probabilities.length / counts[0]!;
  const embeddingSize = parts[0]!.embeddingSize;
  const out: PoolPrediction = { n, classes, probabilities: new Float32Array(n * classes), embeddingSize };
  if (options.mcSamples > 0) out.mcSamples = new Float32Array(n * options.mcSamples * classes);
  if (options.embeddings) out.embeddings = new Float32Array(n * embeddingSize);
  let row = 0;
  parts.forEach((part, i) => {
    out.probabilities.set(part.probabilities, row * classes);
    if (out.mcSamples) out.mcSamples.set(part.mcSamples!, row * options.mcSamples * classes);
    if (out.embeddings) out.embeddings.set(part.embeddings!, row * embeddingSize);
    row += counts[i]!;
  });
  return out;
}
