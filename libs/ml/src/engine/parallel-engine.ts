// Data-parallel training on worker threads: the wasm backend runs one thread per process under
// Node, so a batch is split across N replicas (one per core by default). Gradients are averaged
// through SharedArrayBuffer and every replica applies the same update (see worker-replica.ts);
// the main thread only splits batches and collects losses.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { InvalidArgumentError } from '@labelloop/common';
import { currentBackend } from '../backend/init-backend.js';
import { createLocalEngine } from './local-engine.js';
import { assertModelSpec } from '../models/build-model.js';
import type { ModelSpec } from '../models/model-spec.js';
import { ABORTED, CONTROL_SLOTS, FAILED, type Reply, type ReplicaShape, type Request, type WorkerInit } from './parallel-protocol.js';
import type { EngineOptions, StepResult, TrainBatch, TrainingEngine } from './types.js';

export interface ParallelEngineOptions extends EngineOptions {
  /** Worker threads (default: the cores available). */
  workers?: number;
}

export interface ParallelEngine extends TrainingEngine {
  readonly workers: number;
  /**
   * Logits (n·classes) of uint8 NHWC images, split across the workers, each running forward
   * passes of batchSize images (default 256) with dropout off.
   */
  predictLogits(images: Uint8Array, options?: { batchSize?: number }): Promise<Float32Array>;
  /** The weights of one replica (all replicas hold the same; tests check it). */
  getReplicaWeights(index: number): Promise<Float32Array[]>;
}

/**
 * The replica's entry point. Built, it is worker-replica.js. Run from source under tsx (tests,
 * bench) it is a .ts file, and tsx's hooks do not reach worker threads on Node 20: a small
 * bootstrap registers tsx in the worker first.
 */
function workerEntry(): URL {
  if (!import.meta.url.endsWith('.ts')) return new URL('./worker-replica.js', import.meta.url);
  const entry = new URL('./worker-replica.ts', import.meta.url).href;
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const bootstrap = `const { register } = await import(${JSON.stringify(tsxApi)}); register(); await import(${JSON.stringify(entry)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(bootstrap)}`);
}

type RequestBody = Request extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

class Replica {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: Reply & { ok: true }) => void; reject: (e: Error) => void }>();
  readonly ready: Promise<ReplicaShape>;

  constructor(
    readonly worker: Worker,
    onDeath: (err: Error) => void,
  ) {
    this.ready = new Promise((resolve, reject) => this.pending.set(0, { resolve: (r) => resolve(r.shape!), reject }));
    worker.on('message', (reply: Reply) => {
      const waiter = this.pending.get(reply.id);
      if (!waiter) return;
      this.pending.delete(reply.id);
      if (reply.ok) waiter.resolve(reply);
      else waiter.reject(Object.assign(new Error(reply.error), { sibling: reply.sibling === true }));
    });
    const die = (err: Error) => {
      for (const waiter of this.pending.values()) waiter.reject(err);
      this.pending.clear();
      onDeath(err);
    };
    worker.on('error', die);
    worker.on('exit', (code) => die(new Error(`parallel engine worker exited (code ${code})`)));
  }

  request(body: RequestBody, transfer: ArrayBuffer[] = []): Promise<Reply & { ok: true }> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...body, id }, transfer);
    });
  }
}

export async function createParallelEngine(options: ParallelEngineOptions): Promise<ParallelEngine> {
  const { spec, seed } = options;
  assertModelSpec(spec);
  const workers = options.workers ?? availableParallelism();
  if (!Number.isInteger(workers) || workers < 1) throw new InvalidArgumentError(`workers must be an integer ≥ 1, got ${workers}`);
  const control = new Int32Array(new SharedArrayBuffer(CONTROL_SLOTS * 4));
  let broken: Error | undefined;
  let disposed = false;
  const onDeath = (err: Error) => {
    if (disposed) return;
    broken ??= err;
    // Siblings blocked in the barrier give up instead of waiting forever.
    Atomics.store(control, ABORTED, 1);
    Atomics.notify(control, 0);
  };
  const replicas = Array.from({ length: workers }, (_, index) => {
    const workerData: WorkerInit = { spec, optimizer: options.optimizer, seed, index, workers, backend: currentBackend()?.name ?? 'wasm' };
    return new Replica(new Worker(workerEntry(), { workerData }), onDeath);
  });
  let shape: ReplicaShape;
  try {
    [shape] = (await Promise.all(replicas.map((r) => r.ready))) as [ReplicaShape];
    const buffers = {
      control: control.buffer as SharedArrayBuffer,
      grads: new SharedArrayBuffer(2 * workers * shape.params * 4),
      stats: new SharedArrayBuffer(Math.max(workers * shape.stats, 1) * 4),
    };
    await Promise.all(replicas.map((r) => r.request({ type: 'buffers', buffers })));
  } catch (err) {
    disposed = true;
    await Promise.all(replicas.map((r) => r.worker.terminate()));
    throw err;
  }
  let steps = 0;
  let queue: Promise<unknown> = Promise.resolve();
  // One request at a time: a step's replies must all be in before the next starts.
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const result = queue.then(() => {
      if (disposed) throw new Error('engine is disposed');
      if (broken) throw broken;
      return work();
    });
    queue = result.catch(() => undefined);
    return result;
  };

  return {
    spec,
    workers,
    step: (batch) =>
      serial(async () => {
        assertBatch(spec, batch);
        const step = steps++;
        const replies = await Promise.allSettled(replicas.map((r, i) => r.request(...slice(batch, i, workers, step))));
        Atomics.store(control, FAILED, 0);
        const failure = replies.find((r) => r.status === 'rejected' && !(r.reason as { sibling?: boolean }).sibling) ?? replies.find((r) => r.status === 'rejected');
        if (failure) throw (failure as PromiseRejectedResult).reason;
        let loss = 0;
        let correct = 0;
        for (const r of replies as PromiseFulfilledResult<Reply & { ok: true }>[]) {
          loss += r.value.loss!;
          correct += r.value.correct!;
        }
        return { loss, accuracy: correct / batch.n } satisfies StepResult;
      }),
    predictLogits: (images, predictOptions = {}) =>
      serial(async () => {
        const batchSize = predictOptions.batchSize ?? 256;
        const [h, w, c] = spec.inputShape;
        const size = h * w * c;
        const n = images.length / size;
        if (!Number.isInteger(n)) throw new InvalidArgumentError(`images hold ${images.length} bytes, not a multiple of ${h}·${w}·${c}`);
        if (!Number.isInteger(batchSize) || batchSize < 1) throw new InvalidArgumentError(`batchSize must be an integer ≥ 1, got ${batchSize}`);
        const parts = await Promise.all(
          replicas.map((r, i) => {
            const [start, end] = [Math.floor((i * n) / workers), Math.floor(((i + 1) * n) / workers)];
            const x = images.slice(start * size, end * size);
            return r.request({ type: 'predict', x, n: end - start, batchSize }, [x.buffer as ArrayBuffer]);
          }),
        );
        const logits = new Float32Array(n * spec.numClasses);
        let offset = 0;
        for (const part of parts) {
          logits.set(part.logits!, offset);
          offset += part.logits!.length;
        }
        return logits;
      }),
    getWeights: () => serial(async () => (await replicas[0]!.request({ type: 'getWeights' })).weights!),
    getReplicaWeights: (index) =>
      serial(async () => {
        const replica = replicas[index];
        if (!replica) throw new InvalidArgumentError(`no replica ${index} (workers: ${workers})`);
        return (await replica.request({ type: 'getWeights' })).weights!;
      }),
    setWeights: (weights) =>
      serial(async () => {
        await Promise.all(replicas.map((r) => r.request({ type: 'setWeights', weights })));
      }),
    dispose: async () => {
      if (disposed) return;
      await queue;
      if (!broken) await Promise.allSettled(replicas.map((r) => r.request({ type: 'dispose' })));
      disposed = true;
      await Promise.all(replicas.map((r) => r.worker.terminate()));
    },
  };
}

/**
 * The engine to train with on this machine: the parallel engine when the backend is wasm (or
 * cpu) and more than one core is available — one tfjs-node process already uses every core,
 * and on wasm two workers trained the 28×28 CNN ~1.3× faster than one thread here (see
 * bench/README.md) — else the local engine. Call initBackend first.
 */
export async function createTrainingEngine(options: ParallelEngineOptions): Promise<TrainingEngine> {
  const workers = options.workers ?? availableParallelism();
  const backend = currentBackend()?.name ?? 'wasm';
  if (workers > 1 && (backend === 'wasm' || backend === 'cpu')) return createParallelEngine({ ...options, workers });
  return createLocalEngine(options);
}

/** Worker i's rows of the batch: contiguous, sizes differing by at most one. */
function slice(batch: TrainBatch, i: number, workers: number, step: number): [RequestBody, ArrayBuffer[]] {
  const offset = Math.floor((i * batch.n) / workers);
  const end = Math.floor(((i + 1) * batch.n) / workers);
  const pixels = batch.x.length / batch.n;
  // Copies (slice, not subarray): posting a view would clone its whole buffer.
  const x = batch.x.slice(offset * pixels, end * pixels);
  const y = batch.y.slice(offset, end);
  const weights = batch.weights?.slice(offset, end);
  const body: RequestBody = { type: 'step', step, offset, total: batch.n, n: end - offset, x, y, ...(weights ? { weights } : {}) };
  return [body, [x.buffer, y.buffer, ...(weights ? [weights.buffer] : [])] as ArrayBuffer[]];
}

function assertBatch(spec: ModelSpec, batch: TrainBatch): void {
  const [h, w, c] = spec.inputShape;
  const { n } = batch;
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`batch size must be ≥ 1, got ${n}`);
  if (batch.x.length !== n * h * w * c) throw new InvalidArgumentError(`batch x needs ${n * h * w * c} bytes, got ${batch.x.length}`);
  if (batch.y.length !== n) throw new InvalidArgumentError(`batch y needs ${n} labels, got ${batch.y.length}`);
  if (batch.weights && batch.weights.length !== n) throw new InvalidArgumentError(`batch weights need ${n} values, got ${batch.weights.length}`);
  for (const label of batch.y) {
    if (!(label >= 0 && label < spec.numClasses)) throw new InvalidArgumentError(`label ${label} is outside [0, ${spec.numClasses})`);
  }
}
