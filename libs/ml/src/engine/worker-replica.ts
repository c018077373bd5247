// A worker thread of the parallel engine: one replica of the model. Each step it computes the
// gradient of its rows of the batch, publishes it (scaled by its share of the batch) in shared
// memory, waits for its siblings, sums all of them in worker order — the same sum, bit for bit,
// in every replica — and applies the same optimizer update, so the replicas stay identical
// without ever sending weights around.
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { createLogger } from '@labelloop/common';
import { initBackend } from '../backend/init-backend.js';
import { buildModel } from '../models/build-model.js';
import { forward, modelLayers } from '../models/forward.js';
import { setModelWeights } from './local-engine.js';
import { weightedCrossEntropy } from './loss.js';
import { createOptimizer } from './optimizer.js';
import { FAILED, barrier, type Reply, type Request, type SharedBuffers, type WorkerInit } from './parallel-protocol.js';

const init = workerData as WorkerInit;
const port = parentPort!;

await initBackend({ prefer: init.backend, env: {}, logger: createLogger({ service: 'labelloop-ml-worker', level: 'warn' }) });
const model = buildModel(init.spec, init.seed);
const optimizer = createOptimizer(init.optimizer);
const trainable = model.trainableWeights.map((w) => w.read() as tf.Variable);
const stats = model.nonTrainableWeights.map((w) => w.read() as tf.Variable);
const paramCount = trainable.reduce((sum, v) => sum + v.size, 0);
const statCount = stats.reduce((sum, v) => sum + v.size, 0);
const layers = modelLayers(model);
let shared: { control: Int32Array; grads: Float32Array; stats: Float32Array } | undefined;

port.on('message', (request: Request) => {
  try {
    const reply = handle(request);
    port.postMessage(reply, reply.ok && reply.logits ? [reply.logits.buffer as ArrayBuffer] : []);
  } catch (err) {
    const sibling = err instanceof SiblingFailure;
    port.postMessage({ id: request.id, ok: false, error: (err as Error).message, sibling } satisfies Reply);
  }
});
port.postMessage({ id: 0, ok: true, shape: { params: paramCount, stats: statCount } } satisfies Reply);

class SiblingFailure extends Error {}

function handle(request: Request): Reply {
  switch (request.type) {
    case 'buffers':
      shared = attach(request.buffers);
      return { id: request.id, ok: true };
    case 'step':
      return { id: request.id, ok: true, ...step(request) };
    case 'predict':
      return { id: request.id, ok: true, logits: predictLogits(request.x, request.n, request.batchSize) };
    case 'getWeights':
      return { id: request.id, ok: true, weights: model.getWeights().map((t) => new Float32Array(t.dataSync())) };
    case 'setWeights':
      setModelWeights(model, request.weights);
      return { id: request.id, ok: true };
    case 'dispose':
      optimizer.dispose();
      model.dispose();
      return { id: request.id, ok: true };
  }
}

function attach(buffers: SharedBuffers) {
  return {
    control: new Int32Array(buffers.control),
    grads: new Float32Array(buffers.grads),
    stats: new Float32Array(buffers.stats),
  };
}

function step(request: Extract<Request, { type: 'step' }>): { loss: number; correct: number } {
  if (!shared) throw new Error('shared buffers not attached');
  const { control } = shared;
  const region = (parity: number, worker: number) =>
    shared!.grads.subarray((parity * init.workers + worker) * paramCount, (parity * init.workers + worker + 1) * paramCount);
  const parity = request.step % 2;
  let result = { loss: 0, correct: 0 };
  let failure: unknown;
  try {
    result = computeGradient(request, region(parity, init.index));
  } catch (err) {
    failure = err;
    Atomics.store(control, FAILED, 1);
  }
  barrier(control, init.workers);
  if (failure) throw failure;
  if (Atomics.load(control, FAILED) !== 0) throw new SiblingFailure('step skipped: another worker failed');

  // Sum in worker order: every replica gets the same floats. The regions of the other parity
  // are the next step's; nobody writes them until every worker has passed this step's barrier.
  const total = new Float32Array(region(parity, 0));
  for (let w = 1; w < init.workers; w++) {
    const g = region(parity, w);
    for (let i = 0; i < paramCount; i++) total[i]! += g[i]!;
  }
  tf.tidy(() => {
    const grads: tf.NamedTensorMap = {};
    let offset = 0;
    for (const v of trainable) {
      grads[v.name] = tf.tensor(total.subarray(offset, offset + v.size), v.shape, 'float32');
      offset += v.size;
    }
    optimizer.applyGradients(grads);
  });
  if (statCount > 0) averageStats(shared.stats, control);
  return result;
}

/** Logits of n images, batchSize at a time, dropout off. */
function predictLogits(images: Uint8Array, n: number, batchSize: number): Float32Array {
  const [h, w, c] = init.spec.inputShape;
  const size = h * w * c;
  const logits = new Float32Array(n * init.spec.numClasses);
  for (let start = 0; start < n; start += batchSize) {
    const m = Math.min(batchSize, n - start);
    const out = tf.tidy(() => {
      const x = tf.tensor4d(images.subarray(start * size, (start + m) * size), [m, h, w, c], 'int32').toFloat();
      return forward(model, x, { training: false, dropout: false }).dataSync();
    });
    logits.set(out, start * init.spec.numClasses);
  }
  return logits;
}

/** Writes ∂loss/∂w of this worker's rows, scaled by n/total, into `out`; returns its loss share and hits. */
function computeGradient(request: Extract<Request, { type: 'step' }>, out: Float32Array): { loss: number; correct: number } {
  if (request.n === 0) {
    out.fill(0);
    return { loss: 0, correct: 0 };
  }
  const [h, w, c] = init.spec.inputShape;
  const share = request.n / request.total;
  return tf.tidy(() => {
    const x = tf.tensor4d(request.x, [request.n, h, w, c], 'int32').toFloat();
    const y = tf.tensor1d(request.y, 'int32');
    const sw = request.weights ? tf.tensor1d(request.weights, 'float32') : undefined;
    let logits: tf.Tensor2D | undefined;
    const { value, grads } = tf.variableGrads(() => {
      logits = tf.keep(forwardRows(x, request) as tf.Tensor2D);
      return weightedCrossEntropy(logits, y, sw);
    }, trainable);
    let offset = 0;
    for (const v of trainable) {
      out.set(tf.mul(grads[v.name]!, share).dataSync(), offset);
      offset += v.size;
    }
    const correct = tf.equal(tf.argMax(logits!, 1).toInt(), y).sum().dataSync()[0]!;
    return { loss: value.dataSync()[0]! * share, correct };
  });
}

/**
 * The local engine's training forward pass, for rows [offset, offset + n) of the batch: dropout
 * masks are drawn for the whole batch with the local engine's seeds and formula, and this
 * worker's rows taken, so N workers drop exactly what one engine would.
 */
function forwardRows(x: tf.Tensor, request: Extract<Request, { type: 'step' }>): tf.Tensor {
  let t = x;
  let from = 0;
  for (let i = 0; i <= layers.length; i++) {
    if (i < layers.length && layers[i]!.getClassName() !== 'Dropout') continue;
    t = forward(model, t, { training: true, dropout: false, from, to: i });
    if (i === layers.length) break;
    const rate = (layers[i]!.getConfig().rate as number) ?? 0;
    if (rate > 0) {
      const keep = 1 - rate;
      const seed = `${init.seed}:${request.step}:${i}`;
      const full = tf.floor(tf.randomUniform([request.total, ...t.shape.slice(1)], 0, 1, 'float32', seed as unknown as number).add(keep));
      const rows = tf.slice(full, request.offset, request.n);
      t = t.mul(rows.div(keep));
    }
    from = i + 1;
  }
  return t;
}

/** Replaces each replica's batch-norm statistics by their mean over the workers. */
function averageStats(buffer: Float32Array, control: Int32Array): void {
  const mine = buffer.subarray(init.index * statCount, (init.index + 1) * statCount);
  let offset = 0;
  for (const v of stats) {
    mine.set(v.dataSync(), offset);
    offset += v.size;
  }
  barrier(control, init.workers);
  const mean = new Float32Array(statCount);
  for (let w = 0; w < init.workers; w++) {
    const s = buffer.subarray(w * statCount, (w + 1) * statCount);
    for (let i = 0; i < statCount; i++) mean[i]! += s[i]! / init.workers;
  }
  // Everyone must have read the buffer before anyone writes the next step's statistics.
  barrier(control, init.workers);
  offset = 0;
  for (const v of stats) {
    v.assign(tf.tensor(mean.subarray(offset, offset + v.size), v.shape, 'float32'));
    offset += v.size;
  }
}
