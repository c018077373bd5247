import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '@labelloop/common';
import { mnistPixels, startTestS3, type TestS3 } from '@labelloop/testing';
import { loadModelArtifact, saveModelArtifact, SIDECAR_JSON } from '../src/artifacts/index.js';
import { useWasmBackend } from '../src/backend/wasm-backend.js';
import type { ModelSidecarInput } from '../src/artifacts/index.js';
import { buildModel } from '../src/models/build-model.js';
import type { ModelSpec } from '../src/models/model-spec.js';

const SPEC: ModelSpec = { architecture: 'cnn-28', inputShape: [28, 28, 1], numClasses: 10 };
const CLASSES = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];

let s3: TestS3;
before(async () => {
  s3 = await startTestS3();
  await tf.setBackend('cpu');
});
after(async () => {
  await s3.close();
});

function mnistInput(count: number): tf.Tensor4D {
  const x = new Float32Array(count * 784);
  for (let i = 0; i < count; i++) x.set(mnistPixels('test', i), i * 784);
  return tf.tensor4d(x, [count, 28, 28, 1]);
}

async function predict(model: tf.LayersModel, input: tf.Tensor4D): Promise<Float32Array> {
  const out = model.predict(input) as tf.Tensor;
  const data = (await out.data()) as Float32Array;
  out.dispose();
  return data;
}

function sidecarFor(spec: ModelSpec, classes: string[]): ModelSidecarInput {
  return {
    modelSpec: spec,
    imageSpec: { width: spec.inputShape[1], height: spec.inputShape[0], channels: spec.inputShape[2] as 1 | 3 },
    classes,
    temperature: 1.7,
    metrics: { test: { accuracy: 0.95, macroF1: 0.94 }, calibration: { eceBefore: 0.05, eceAfter: 0.01 } },
    extra: { datasetId: 'ds-1', trainingRunId: 'run-9' },
  };
}

test('save/load round trip through S3 gives identical predictions, on any backend', async () => {
  const model = buildModel(SPEC, 123);
  const input = mnistInput(32);
  const before = await predict(model, input);
  const prefix = 'models/ds-1/v1/';
  // Small shards so the weights (~900 kB) span several objects.
  const written = await saveModelArtifact(s3.store, prefix, model, sidecarFor(SPEC, CLASSES), { shardBytes: 200_000 });
  assert.equal(written.backend, 'cpu');
  assert.equal(written.versions.tfjs, tf.version.tfjs);
  assert.equal(written.versions.node, process.versions.node);
  assert.ok(written.versions['@labelloop/ml'] && written.versions['@tensorflow/tfjs-backend-wasm']);

  const keys: string[] = [];
  for await (const info of s3.store.list(prefix)) keys.push(info.key.slice(prefix.length));
  const shards = keys.filter((k) => k.endsWith('.bin')).sort();
  assert.ok(shards.length >= 4, `${shards}`);
  assert.ok(shards.every((k) => /^group1-shard\d+of\d+\.bin$/.test(k)));
  assert.ok(keys.includes('model.json') && keys.includes(SIDECAR_JSON));

  const loaded = await loadModelArtifact(s3.store, prefix);
  assert.deepEqual(loaded.sidecar, JSON.parse(JSON.stringify(written)));
  assert.deepEqual(await predict(loaded.model, input), before, 'same backend: bit-identical');
  assert.equal(loaded.model.countParams(), model.countParams());

  // The same artifact on the wasm backend (labelloop's default on CPUs): equal up to float rounding.
  await useWasmBackend();
  try {
    const onWasm = await loadModelArtifact(s3.store, prefix);
    const wasmInput = mnistInput(32);
    const wasmOut = await predict(onWasm.model, wasmInput);
    wasmInput.dispose();
    onWasm.model.dispose();
    for (let i = 0; i < before.length; i++) assert.ok(Math.abs(wasmOut[i]! - before[i]!) < 1e-4, `logit ${i}: ${wasmOut[i]} vs ${before[i]}`);
  } finally {
    await tf.setBackend('cpu');
  }
  input.dispose();
  model.dispose();
  loaded.model.dispose();
});

test('bad input is refused before anything is written; missing or foreign artifacts fail clearly', async () => {
  const model = buildModel(SPEC, 1);
  await assert.rejects(saveModelArtifact(s3.store, 'models/ds-1/v2', model, sidecarFor(SPEC, CLASSES)), InvalidArgumentError);
  await assert.rejects(saveModelArtifact(s3.store, 'models/ds-1/v2/', model, sidecarFor(SPEC, CLASSES.slice(0, 9))), InvalidArgumentError);
  const wrongShape = { ...sidecarFor(SPEC, CLASSES), modelSpec: { ...SPEC, inputShape: [32, 32, 3] as [number, number, number] } };
  await assert.rejects(saveModelArtifact(s3.store, 'models/ds-1/v2/', model, wrongShape), InvalidArgumentError);
  await assert.rejects(saveModelArtifact(s3.store, 'models/ds-1/v2/', model, { ...sidecarFor(SPEC, CLASSES), temperature: 0 }), InvalidArgumentError);
  const written: string[] = [];
  for await (const info of s3.store.list('models/ds-1/v2/')) written.push(info.key);
  assert.deepEqual(written, []);
  await assert.rejects(loadModelArtifact(s3.store, 'models/ds-1/v2/'), NotFoundError);

  await saveModelArtifact(s3.store, 'models/ds-1/v3/', model, sidecarFor(SPEC, CLASSES));
  await s3.store.put(`models/ds-1/v3/${SIDECAR_JSON}`, Buffer.from(JSON.stringify({ formatVersion: 99 })));
  await assert.rejects(loadModelArtifact(s3.store, 'models/ds-1/v3/'), FailedPreconditionError);
  model.dispose();
});
