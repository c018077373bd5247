import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { GrpcCallError, Status } from '@labelloop/common';
import type { LocalEngine } from '@labelloop/ml';
import { decodeImage } from '@labelloop/ml';
import { startTestS3, type TestS3 } from '@labelloop/testing';
import { INFERENCE_IMAGES_TOTAL, INFERENCE_PREDICT_SECONDS, SCORING_SHARDS_TOTAL } from '../src/metrics.js';
import { eventually, startInference, type RunningInference } from './support/harness.js';
import { CLASSES, referenceProbabilities, saveVersion, testDigitPngs, trainDigits, type SavedVersion } from './support/model.js';

// Online Predict against a real cnn-28 trained here on MNIST, loaded from S3 into two worker threads.

const DATASET = 'digits';
let s3: TestS3;
let engine: LocalEngine;
let v1: SavedVersion;
let v2: SavedVersion;
let inference: RunningInference;
let digits: Awaited<ReturnType<typeof testDigitPngs>>;
let reference: Map<number, Float32Array[]>;

before(async () => {
  s3 = await startTestS3();
  engine = await trainDigits({ images: 400, epochs: 3 });
  // Two versions with the same weights and different temperatures: a response's confidences tell
  // which one answered it.
  v1 = await saveVersion(s3.store, engine, DATASET, 1, 1);
  v2 = await saveVersion(s3.store, engine, DATASET, 2, 2.5);
  digits = await testDigitPngs(0, 300);
  const pixels = new Uint8Array(digits.length * 784);
  for (const [i, d] of digits.entries()) pixels.set(await decodeImage(d.content, { width: 28, height: 28, channels: 1 }), i * 784);
  reference = new Map([
    [1, await referenceProbabilities(engine, pixels, v1.temperature)],
    [2, await referenceProbabilities(engine, pixels, v2.temperature)],
  ]);
  inference = await startInference(s3.store, { workers: 2, idleModelCache: 0 });
  // The path a model.promoted event takes.
  inference.server.champions.promoted(v1);
  await inference.server.champions.idle();
});

after(async () => {
  await inference?.close();
  await engine?.dispose();
  await s3?.close();
});

function request(from: number, n: number, topK = 0) {
  return { datasetId: DATASET, images: digits.slice(from, from + n).map(({ fileName, content }) => ({ fileName, content })), topK };
}

async function expectStatus(call: Promise<unknown>, code: Status, message: RegExp): Promise<void> {
  await assert.rejects(call, (err: unknown) => {
    assert.ok(err instanceof GrpcCallError, String(err));
    assert.equal(err.code, code, `${Status[err.code]}: ${err.message}`);
    assert.match(err.message, message);
    return true;
  });
}

test('Predict labels real MNIST digits well above chance, with calibrated confidences and consistent top-k, on both workers', async () => {
  const before = inference.pool.stats();
  let correct = 0;
  for (const from of [0, 256]) {
    const n = Math.min(256, digits.length - from);
    const response = await inference.client.predict(request(from, n));
    assert.equal(response.predictions.length, n);
    for (const [j, p] of response.predictions.entries()) {
      const i = from + j;
      assert.equal(p.fileName, digits[i]!.fileName);
      assert.equal(p.topK.length, 3, 'default top-k is 3');
      assert.equal(p.label, p.topK[0]!.label);
      assert.equal(p.confidence, p.topK[0]!.probability);
      for (let k = 1; k < p.topK.length; k++) assert.ok(p.topK[k - 1]!.probability >= p.topK[k]!.probability);
      // The probabilities libs/ml gives in this thread at the model's temperature.
      const expected = reference.get(1)![i]!;
      for (const c of p.topK) assert.ok(Math.abs(c.probability - expected[CLASSES.indexOf(c.label)]!) < 1e-4, `${p.fileName} ${c.label}`);
      if (p.label === String(digits[i]!.label)) correct++;
    }
    const model = response.model!;
    assert.equal(model.modelVersion, 1);
    assert.equal(model.modelId, v1.modelId);
    assert.equal(model.architecture, 'cnn-28');
    assert.equal(model.temperature, 1);
    assert.equal(model.backend, 'wasm');
    assert.equal(model.runId, v1.runId);
    assert.ok(model.trainedAt instanceof Date && model.loadedAt instanceof Date && model.loadedAt >= model.trainedAt);
  }
  const accuracy = correct / digits.length;
  assert.ok(accuracy >= 0.7, `accuracy ${accuracy} on ${digits.length} test digits (chance is 0.1)`);

  const after = inference.pool.stats();
  for (const w of after) {
    const done = w.images - before.find((b) => b.worker === w.worker)!.images;
    assert.ok(done >= 100, `worker ${w.worker} predicted ${done} images`);
  }

  // top_k beyond the classes is capped; all classes' probabilities sum to 1.
  const all = await inference.client.predict(request(0, 2, 50));
  for (const p of all.predictions) {
    assert.equal(p.topK.length, 10);
    assert.ok(Math.abs(p.topK.reduce((s, c) => s + c.probability, 0) - 1) < 1e-4);
  }

  const metrics = await inference.registry.metrics();
  assert.match(metrics, new RegExp(`${INFERENCE_IMAGES_TOTAL}\\{dataset_id="${DATASET}",kind="online",service="inference"\\} (\\d+)`));
  assert.match(metrics, new RegExp(`${INFERENCE_PREDICT_SECONDS}_count\\{service="inference"\\} [1-9]`));
  assert.match(metrics, new RegExp(`${SCORING_SHARDS_TOTAL}\\{outcome="recorded",service="inference"\\} 0`));
  assert.match(metrics, /labelloop_ml_backend_info\{backend="wasm",service="inference"\} 1/);
});

test('an undecodable image fails the whole request with INVALID_ARGUMENT naming the file; batch size and dataset are checked', async () => {
  const good = request(0, 3);
  const bad = { ...good, images: [...good.images, { fileName: 'holiday.png', content: Buffer.from('this is not an image at all') }] };
  await expectStatus(inference.client.predict(bad), Status.INVALID_ARGUMENT, /holiday\.png/);
  const empty = { ...good, images: [...good.images, { fileName: 'empty.png', content: Buffer.alloc(0) }] };
  await expectStatus(inference.client.predict(empty), Status.INVALID_ARGUMENT, /empty\.png is empty/);
  await expectStatus(inference.client.predict({ ...good, images: [] }), Status.INVALID_ARGUMENT, /1 to 256 images, got 0/);
  const many = { ...good, images: Array.from({ length: 257 }, () => good.images[0]!) };
  await expectStatus(inference.client.predict(many), Status.INVALID_ARGUMENT, /1 to 256 images, got 257/);
  await expectStatus(inference.client.predict({ ...good, datasetId: 'no-such-dataset' }), Status.FAILED_PRECONDITION, /dataset no-such-dataset has no champion model yet/);
  await expectStatus(inference.client.predict({ ...good, datasetId: '' }), Status.INVALID_ARGUMENT, /dataset_id is required/);
});

test('a promotion swaps the champion while requests are in flight: all succeed, each on the version it names; the old model is unloaded after its last request', async () => {
  assert.equal(inference.server.models.champion(DATASET)?.version, 1);
  type Answer = { version: number; started: number; finished: number };
  const answers: Answer[] = [];
  let swapped = 0;
  let stop = false;
  const client = async (c: number) => {
    for (let r = 0; !stop; r++) {
      const from = (c * 37 + r * 11) % 250;
      const started = performance.now();
      const response = await inference.client.predict(request(from, 24));
      const version = response.model!.modelVersion;
      const expected = reference.get(version)!;
      // Confidences carry the temperature of the version named: the answer came from that model.
      for (const [j, p] of response.predictions.entries()) {
        assert.ok(Math.abs(p.confidence - expected[from + j]![CLASSES.indexOf(p.label)]!) < 1e-4, `v${version} ${p.fileName}`);
      }
      answers.push({ version, started, finished: performance.now() });
      if (swapped && answers.filter((a) => a.version === 2).length >= 12) stop = true;
    }
  };
  const clients = [0, 1, 2, 3].map(client);
  await eventually('a few answers from v1', () => answers.length >= 8);
  inference.server.champions.promoted(v2);
  await inference.server.champions.idle();
  swapped = performance.now();
  await Promise.all(clients);

  assert.equal(inference.server.models.champion(DATASET)?.version, 2);
  const overlapping = answers.filter((a) => a.started < swapped && a.finished > swapped);
  assert.ok(overlapping.length > 0, 'some requests were in flight when the swap happened');
  assert.ok(answers.some((a) => a.version === 1) && answers.some((a) => a.version === 2));
  // Started after the swap finished → the new version.
  for (const a of answers.filter((a) => a.started > swapped)) assert.equal(a.version, 2);
  // Idle cache 0: v1 leaves the workers once nobody holds it.
  await eventually('v1 to be unloaded', () => inference.server.models.listLoaded().map((m) => m.version).join() === '2');
  assert.deepEqual([...inference.server.models.leases().values()], [0]);

  const listed = await inference.client.listLoadedModels({});
  assert.deepEqual(listed.models.map((m) => [m.datasetId, m.model?.modelVersion, m.model?.modelId]), [[DATASET, 2, v2.modelId]]);
});

test('a promotion whose artifact cannot load keeps the old champion serving and is retried until a later promotion supersedes it', async () => {
  inference.server.champions.promoted({ datasetId: DATASET, modelId: 'missing', version: 3, artifactPrefix: `models/${DATASET}/3/` });
  await new Promise((r) => setTimeout(r, 300));
  const response = await inference.client.predict(request(0, 2));
  assert.equal(response.model!.modelVersion, 2, 'still the previous champion');
  // A later promotion (a rollback to v1) wins; the failing load stops retrying.
  inference.server.champions.promoted(v1);
  await inference.server.champions.idle();
  assert.equal(inference.server.models.champion(DATASET)?.version, 1);
});
