// A predict worker thread: its own tfjs backend (wasm runs one thread per process under Node, so
// workers are how prediction uses every core) and a copy of each loaded model. Models are read with
// libs/ml's artifact loader through a BlobStore whose reads the main thread serves.
import type { Readable } from 'node:stream';
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger, DomainError } from '@labelloop/common';
import { currentBackend, initBackend, loadModelArtifact, predict } from '@labelloop/ml';
import type { BlobInfo, BlobStore } from '@labelloop/storage';
import type { PredictReply, Request, SerializedError, WorkerInit, WorkerMessage } from './protocol.js';

type LoadedModel = Awaited<ReturnType<typeof loadModelArtifact>>['model'];

const init = workerData as WorkerInit;
const port = parentPort!;
const models = new Map<string, LoadedModel>();
const blobWaiters = new Map<number, { resolve: (bytes: Buffer) => void; reject: (err: Error) => void }>();
let nextBlobId = 1;

const post = (message: WorkerMessage, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

function serialize(err: unknown): SerializedError {
  if (err instanceof DomainError) return { message: err.message, kind: err.kind };
  return { message: err instanceof Error ? err.message : String(err) };
}

function deserialize(error: SerializedError): Error {
  return error.kind ? new DomainError(error.kind, error.message) : new Error(error.message);
}

function unsupported(): never {
  throw new Error('a predict worker only reads model artifacts');
}

/** Reads go to the main thread; everything else is refused. */
const mainThreadBlobs: BlobStore = {
  bucket: '',
  getBuffer: (key) =>
    new Promise<Buffer>((resolve, reject) => {
      const id = nextBlobId++;
      blobWaiters.set(id, { resolve, reject });
      post({ kind: 'blob', id, key });
    }),
  put: async () => unsupported(),
  getStream: async (): Promise<Readable> => unsupported(),
  head: async (): Promise<BlobInfo | undefined> => unsupported(),
  delete: async () => unsupported(),
  list: (): AsyncIterable<BlobInfo> => unsupported(),
  ensureBucket: async () => unsupported(),
  ping: async () => unsupported(),
  close: async () => {},
};

/** Images per forward pass: about 4 M input values, so AlexNet-sized inputs do not exhaust memory. */
function batchSizeFor(model: LoadedModel): number {
  const [, h, w, c] = model.inputs[0]!.shape as number[];
  return Math.max(1, Math.min(256, Math.floor(4_194_304 / (h! * w! * c!))));
}

async function handle(request: Exclude<Request, { type: 'blob' }>): Promise<WorkerMessage & { kind: 'reply' }> {
  switch (request.type) {
    case 'load': {
      const loaded = await loadModelArtifact(mainThreadBlobs, request.key);
      models.get(request.key)?.dispose();
      models.set(request.key, loaded.model);
      return { kind: 'reply', id: request.id, ok: true, sidecar: loaded.sidecar };
    }
    case 'unload':
      models.get(request.key)?.dispose();
      models.delete(request.key);
      return { kind: 'reply', id: request.id, ok: true };
    case 'predict': {
      const model = models.get(request.key);
      if (!model) throw new Error(`model ${request.key} is not loaded in worker ${init.index}`);
      const { temperature, mcSamples, embeddings, seed } = request.options;
      const out = await predict(model, request.images, { temperature, topK: 1, mcSamples, embeddings, seed, batchSize: batchSizeFor(model) });
      const classes = out[0]?.probabilities.length ?? 0;
      const embeddingSize = out[0]?.embedding?.length ?? 0;
      const reply: PredictReply = { probabilities: new Float32Array(request.n * classes), embeddingSize };
      if (mcSamples > 0) reply.mcSamples = new Float32Array(request.n * mcSamples * classes);
      if (embeddings) reply.embeddings = new Float32Array(request.n * embeddingSize);
      out.forEach((p, i) => {
        reply.probabilities.set(p.probabilities, i * classes);
        p.mcSamples?.forEach((sample, s) => reply.mcSamples!.set(sample, (i * mcSamples + s) * classes));
        if (p.embedding) reply.embeddings!.set(p.embedding, i * embeddingSize);
      });
      return { kind: 'reply', id: request.id, ok: true, predict: reply };
    }
  }
}

port.on('message', (request: Request) => {
  if (request.type === 'blob') {
    const waiter = blobWaiters.get(request.id);
    blobWaiters.delete(request.id);
    if (request.error) waiter?.reject(deserialize(request.error));
    else waiter?.resolve(Buffer.from(request.bytes!.buffer, request.bytes!.byteOffset, request.bytes!.byteLength));
    return;
  }
  handle(request).then(
    (reply) => {
      const p = reply.ok ? reply.predict : undefined;
      const transfer = [p?.probabilities, p?.mcSamples, p?.embeddings].filter((a) => a !== undefined).map((a) => a.buffer as ArrayBuffer);
      post(reply, transfer);
    },
    (err: unknown) => post({ kind: 'reply', id: request.id, ok: false, error: serialize(err) }),
  );
});

await initBackend({ prefer: init.backend, env: {}, logger: createLogger({ service: 'labelloop-inference-worker', level: 'warn' }) });
post({ kind: 'ready', backend: currentBackend()!.name });
