// Model artifacts in S3 under models/<datasetId>/<version>/: the standard tfjs layers format
// (model.json + binary weight shards, loadable by every tfjs backend and by tfjs tooling) plus
// labelloop.json (see model-sidecar.ts).
import * as tf from '@tensorflow/tfjs';
import { FailedPreconditionError, InvalidArgumentError } from '@labelloop/common';
import type { BlobStore } from '@labelloop/storage';
import { assertSidecar, completeSidecar, type ModelSidecar, type ModelSidecarInput, parseSidecar } from './model-sidecar.js';

export const MODEL_JSON = 'model.json';
export const SIDECAR_JSON = 'labelloop.json';
/** Weight shard size; AlexNet's 100 MB of weights become 4 objects. */
export const DEFAULT_SHARD_BYTES = 32 * 1024 * 1024;

function assertPrefix(prefix: string): void {
  if (!prefix.endsWith('/') || prefix.startsWith('/') || prefix.split('/').includes('..')) {
    throw new InvalidArgumentError(`artifact prefix must be a relative key ending in '/', e.g. models/<datasetId>/<version>/, got ${prefix}`);
  }
}

/**
 * Writes the model (weights, then model.json) and then the sidecar. labelloop.json goes last, so its
 * presence means the artifact is complete. Returns the sidecar as written (backend and versions filled in).
 */
export async function saveModelArtifact(
  store: BlobStore,
  prefix: string,
  model: tf.LayersModel,
  sidecarInput: ModelSidecarInput,
  options: { shardBytes?: number } = {},
): Promise<ModelSidecar> {
  assertPrefix(prefix);
  const sidecar = completeSidecar(sidecarInput);
  assertSidecar(sidecar, model);
  const shardBytes = options.shardBytes ?? DEFAULT_SHARD_BYTES;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weights = Buffer.from(tf.io.CompositeArrayBuffer.join(artifacts.weightData ?? new ArrayBuffer(0)));
      const shards = Math.max(1, Math.ceil(weights.length / shardBytes));
      // The tfjs converter's shard naming, so other tfjs tools recognise the layout.
      const paths = Array.from({ length: shards }, (_, i) => `group1-shard${i + 1}of${shards}.bin`);
      for (let i = 0; i < shards; i++) {
        const body = weights.subarray(i * shardBytes, (i + 1) * shardBytes);
        await store.put(prefix + paths[i], body, { contentType: 'application/octet-stream' });
      }
      const modelJson: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology!,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        weightsManifest: [{ paths, weights: artifacts.weightSpecs ?? [] }],
        ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
      };
      await store.put(prefix + MODEL_JSON, Buffer.from(JSON.stringify(modelJson)), { contentType: 'application/json' });
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
  await store.put(prefix + SIDECAR_JSON, Buffer.from(JSON.stringify(sidecar, null, 2)), { contentType: 'application/json' });
  return sidecar;
}

/** Reads an artifact back on whatever tfjs backend is active. NotFoundError when nothing is stored there. */
export async function loadModelArtifact(store: BlobStore, prefix: string): Promise<{ model: tf.LayersModel; sidecar: ModelSidecar }> {
  assertPrefix(prefix);
  const sidecar = parseSidecar(await store.getBuffer(prefix + SIDECAR_JSON), prefix + SIDECAR_JSON);
  const modelJson = JSON.parse((await store.getBuffer(prefix + MODEL_JSON)).toString('utf8')) as tf.io.ModelJSON;
  const handler: tf.io.IOHandler = {
    load: () =>
      tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
        const specs: tf.io.WeightsManifestEntry[] = [];
        const buffers: ArrayBuffer[] = [];
        for (const group of manifest) {
          for (const path of group.paths) {
            // Shards are plain names beside model.json; anything else could point at another object.
            if (path.includes('/') || path === '..') throw new FailedPreconditionError(`${prefix}${MODEL_JSON} names weight file ${path}`);
            const bytes = await store.getBuffer(prefix + path);
            buffers.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
          }
          specs.push(...group.weights);
        }
        return [specs, tf.io.CompositeArrayBuffer.join(buffers)];
      }),
  };
  const model = await tf.loadLayersModel(handler);
  assertSidecar(sidecar, model);
  return { model, sidecar };
}
