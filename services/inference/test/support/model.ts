import { type BlobStore } from '@labelloop/storage';
import {
  classWeights,
  createLocalEngine,
  ImageSet,
  initBackend,
  predict,
  saveModelArtifact,
  trainModel,
  type LocalEngine,
  type ModelSpec,
} from '@labelloop/ml';
import { mnistLabel, mnistPixels, mnistPng } from '@labelloop/testing';

// A real model for inference tests: cnn-28 trained for a few epochs on a few hundred MNIST digits
// with libs/ml, saved to S3 as the trainer saves its artifacts.

export const CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
export const SPEC: ModelSpec = { architecture: 'cnn-28', inputShape: [28, 28, 1], numClasses: 10 };

export function mnistSet(from: number, n: number, set: 'train' | 'test' = 'train'): ImageSet {
  const x = new Uint8Array(n * 784);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    x.set(mnistPixels(set, from + i), i * 784);
    y[i] = mnistLabel(set, from + i);
  }
  return new ImageSet(x, y, [28, 28, 1]);
}

/** Trains on MNIST train digits 0..images-1; the engine's model stays live for reference predictions. */
export async function trainDigits(options: { images?: number; epochs?: number; seed?: number } = {}): Promise<LocalEngine> {
  await initBackend({ prefer: 'wasm', env: {} });
  const train = mnistSet(0, options.images ?? 400);
  const engine = createLocalEngine({ spec: SPEC, optimizer: { name: 'adam', learningRate: 0.002 }, seed: options.seed ?? 1 });
  await trainModel({ engine, train, epochs: options.epochs ?? 3, batchSize: 32, seed: options.seed ?? 1, classWeights: classWeights(train.classCounts(10)) });
  return engine;
}

export interface SavedVersion {
  datasetId: string;
  modelId: string;
  version: number;
  artifactPrefix: string;
  temperature: number;
  runId: string;
}

/** Saves `engine`'s model as models/<datasetId>/<version>/ with the given temperature. */
export async function saveVersion(blobs: BlobStore, engine: LocalEngine, datasetId: string, version: number, temperature: number): Promise<SavedVersion> {
  const artifactPrefix = `models/${datasetId}/${version}/`;
  const runId = `run-${datasetId}-${version}`;
  await saveModelArtifact(blobs, artifactPrefix, engine.model, {
    modelSpec: SPEC,
    imageSpec: { width: 28, height: 28, channels: 1 },
    classes: CLASSES,
    temperature,
    metrics: {},
    extra: { datasetId, runId, version },
  });
  return { datasetId, modelId: `model-${datasetId}-${version}`, version, artifactPrefix, temperature, runId };
}

/** Calibrated probabilities straight from libs/ml in this thread: what the service must answer. */
export async function referenceProbabilities(engine: LocalEngine, images: Uint8Array, temperature: number): Promise<Float32Array[]> {
  return (await predict(engine.model, images, { temperature })).map((p) => p.probabilities);
}

export async function testDigitPngs(from: number, n: number): Promise<{ fileName: string; content: Buffer; label: number }[]> {
  return Promise.all(
    Array.from({ length: n }, async (_, i) => ({ fileName: `t${from + i}.png`, content: await mnistPng('test', from + i), label: mnistLabel('test', from + i) })),
  );
}
