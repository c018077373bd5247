// The training job end to end against a real dataset server (in-process gRPC, PGlite or DATABASE_URL,
// in-process S3) with real MNIST digits: first model, retrain with replay, cancellation, resume.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createGrpcChannel, createGrpcClient, createLogger, createMetricsRegistry, InvalidArgumentError } from '@labelloop/common';
import { createDatasetServer, MIGRATIONS_DIR, SCHEMA, type DatasetServer } from '@labelloop/dataset';
import { loadModelArtifact, predict } from '@labelloop/ml';
import { datasetV1 } from '@labelloop/proto';
import { runMigrations } from '@labelloop/storage';
import { createTestDatabase, mnistCount, mnistLabel, mnistPixels, mnistPng, startTestS3, type TestDatabase, type TestS3 } from '@labelloop/testing';
import { createDatasetReader } from '../src/adapters/dataset-reader.js';
import { readManifest, type ManifestLine } from '../src/domain/job/manifest.js';
import { JobCancelledError, runTrainingJob, type JobCheckpoint, type JobDeps, type JobHooks, type JobInput, type JobProgress } from '../src/domain/job/run-training-job.js';

const CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
let database: TestDatabase;
let s3: TestS3;
let server: DatasetServer;
let channel: ReturnType<typeof createGrpcChannel>;
let client: ReturnType<typeof createGrpcClient<typeof datasetV1.DatasetServiceDefinition>>;
let deps: JobDeps;
let datasetId: string;
let nextMnist = 0;

/** Uploads `perClass` new MNIST digits of every class, labelled; returns their item ids. */
async function uploadLabelled(perClass: number): Promise<string[]> {
  const wanted = new Map(CLASSES.map((c) => [Number(c), perClass]));
  const picked: number[] = [];
  for (; picked.length < perClass * CLASSES.length && nextMnist < mnistCount('train'); nextMnist++) {
    const left = wanted.get(mnistLabel('train', nextMnist))!;
    if (left > 0) (wanted.set(mnistLabel('train', nextMnist), left - 1), picked.push(nextMnist));
  }
  const files = await Promise.all(picked.map(async (i) => ({ i, png: await mnistPng('train', i) })));
  async function* messages(): AsyncIterable<datasetV1.UploadItemsRequest> {
    for (const { i, png } of files) {
      yield { datasetId, fileName: `d${i}.png`, content: png, label: String(mnistLabel('train', i)), actor: 'tester' };
    }
  }
  const { results } = await client.uploadItems(messages());
  return results.map((r) => {
    assert.equal(r.outcome, datasetV1.UploadOutcome.UPLOAD_OUTCOME_CREATED, JSON.stringify(r.error));
    return r.item!.id;
  });
}

function hooks(options: { checkpoint?: JobCheckpoint; onProgress?: (p: JobProgress) => void; signal?: AbortSignal } = {}) {
  const saved: JobCheckpoint[] = [];
  const events: JobProgress[] = [];
  const h: JobHooks = {
    onProgress: (p) => (events.push(p), options.onProgress?.(p)),
    signal: options.signal ?? new AbortController().signal,
    checkpoint: { load: async () => options.checkpoint, save: async (epoch, weights) => void saved.push({ epoch, weights }) },
  };
  return { h, saved, events };
}

const input = (version: number, extra: Partial<JobInput> = {}): JobInput => ({
  runId: `run-${version}`,
  datasetId,
  version,
  hyperParameters: { optimizer: 'adam', learningRate: 0.003, epochs: 2, momentum: 0, batchSize: 32 },
  seed: 7,
  replayRatio: 0.5,
  ...extra,
});

async function manifest(key: string): Promise<ManifestLine[]> {
  const lines: ManifestLine[] = [];
  for await (const line of readManifest(deps.blobs, key)) lines.push(line);
  return lines;
}

const countBy = <T>(values: T[], key: (v: T) => string) =>
  values.reduce<Record<string, number>>((acc, v) => ((acc[key(v)] = (acc[key(v)] ?? 0) + 1), acc), {});

before(async () => {
  [database, s3] = await Promise.all([createTestDatabase(), startTestS3()]);
  await runMigrations(database.db, { schema: SCHEMA, dir: MIGRATIONS_DIR });
  const logger = createLogger({ service: 'job-test', level: (process.env.TEST_LOG_LEVEL as 'info' | undefined) ?? 'silent' });
  server = createDatasetServer({
    db: database.db,
    blobs: s3.store,
    logger,
    registry: createMetricsRegistry('dataset'),
    limits: {
      maxImageBytes: 1024 * 1024, maxImagePixels: 4_000_000, maxArchiveBytes: 1024 * 1024, maxArchiveEntries: 100,
      maxArchiveExpandedBytes: 1024 * 1024, maxCompressionRatio: 100,
    },
  });
  const port = await server.grpc.listen('127.0.0.1:0');
  channel = createGrpcChannel(`127.0.0.1:${port}`);
  client = createGrpcClient(datasetV1.DatasetServiceDefinition, channel);
  const { dataset } = await client.createDataset({ name: `digits-${Date.now()}`, classes: CLASSES, image: { width: 28, height: 28, channels: 1 } });
  datasetId = dataset!.id;
  deps = { dataset: createDatasetReader(channel), blobs: s3.store, logger, workers: 1 };
});

after(async () => {
  channel?.close();
  await server?.grpc.shutdown(5000);
  await server?.imports.stop();
  await database?.close();
  await s3?.close();
});

let first: Awaited<ReturnType<typeof runTrainingJob>>;
let firstIds: string[];

test('a first job trains on every labelled item and saves a model that loads and predicts', async () => {
  firstIds = await uploadLabelled(10);
  const { h, saved, events } = hooks();
  // Two worker threads: the parallel engine, as the trainer uses on wasm (the other jobs run in-process).
  first = await runTrainingJob({ ...deps, workers: 2 }, input(1), h);

  const lines = await manifest(first.snapshotKey);
  assert.equal(first.snapshotKey, `models/${datasetId}/1/snapshot.jsonl`);
  assert.deepEqual(new Set(lines.map((l) => l.itemId)), new Set(firstIds), 'every labelled item is in the snapshot');
  const roles = countBy(lines, (l) => l.role);
  assert.equal(roles['replay'], undefined);
  assert.equal(first.newItems, roles['new']);
  assert.equal(first.replayedItems, 0);
  assert.equal(first.humanLabels, lines.filter((l) => l.source === 'human').length, 'human labels behind the version');
  assert.equal(first.humanLabels, 100);
  assert.equal((roles['new'] ?? 0) + (roles['validation'] ?? 0) + (roles['test'] ?? 0), 100);
  for (const l of lines) assert.equal(l.role === 'new' ? 'train' : l.role, l.split, 'roles follow splits');

  assert.equal(first.architecture, 'cnn-28');
  assert.deepEqual(first.classes, CLASSES);
  for (const m of [first.metrics.test, first.metrics.validation]) {
    assert.equal(m.perClass.length, 10);
    assert.equal(m.confusionMatrix.length, 100);
    assert.equal(m.confusionMatrix.reduce((s, v) => s + v, 0), m.items);
    assert.ok(m.accuracy >= 0 && m.accuracy <= 1 && m.macroF1 >= 0 && m.eceBefore >= 0 && m.eceAfter >= 0);
  }
  assert.equal(first.metrics.test.items, roles['test']);
  assert.equal(first.metrics.validation.items, roles['validation']);
  assert.ok(first.temperature > 0);
  assert.equal(first.snapshotCreatedAt.getTime(), Math.max(...lines.map((l) => Date.parse(l.labeledAt))));

  assert.deepEqual(saved.map((s) => s.epoch), [1, 2]);
  const training = events.filter((e) => e.phase === 'training');
  assert.ok(training.length >= 2 * Math.ceil(first.newItems / 32));
  assert.ok(training.every((e) => e.epochs === 2 && e.batches === Math.ceil(first.newItems / 32) && e.loss > 0));

  const { model, sidecar } = await loadModelArtifact(deps.blobs, first.artifactPrefix);
  assert.deepEqual(sidecar.classes, CLASSES);
  assert.equal(sidecar.temperature, first.temperature);
  const [prediction] = await predict(model, new Uint8Array(mnistPixels('test', 0)), { temperature: sidecar.temperature });
  assert.ok(Math.abs(prediction!.probabilities.reduce((s, p) => s + p, 0) - 1) < 1e-4);
  model.dispose();
});

test('the dataset reader pages through every labelled item, following the cursor', async () => {
  const read = async (pageSize: number) => {
    const items = [];
    for await (const item of createDatasetReader(channel, { pageSize }).labelledItems(datasetId)) items.push(item);
    return items;
  };
  const paged = await read(7);
  assert.deepEqual(paged.map((i) => i.itemId), firstIds);
  assert.deepEqual(paged, await read(1000));
  for (const item of paged) {
    assert.ok(CLASSES.includes(item.label) && item.sha256.length === 64 && item.labeledAt.getTime() > 0);
    assert.ok(['train', 'validation', 'test'].includes(item.split!) && ['human', 'import'].includes(item.source));
  }
  const info = await deps.dataset.getDataset(datasetId);
  assert.deepEqual(info.classes, CLASSES);
  assert.deepEqual(info.image, { width: 28, height: 28, channels: 1 });
  const bytes = await deps.dataset.imageBytes(firstIds[0]!);
  assert.equal(bytes.subarray(1, 4).toString(), 'PNG');
});

test('a retrain uses exactly the new labels plus a class-balanced replay of the older train items', async () => {
  const newIds = new Set(await uploadLabelled(3));
  const champion = { modelId: 'm1', snapshotCreatedAt: first.snapshotCreatedAt, snapshotKey: first.snapshotKey };
  const result = await runTrainingJob(deps, input(2, { champion }), hooks().h);
  const lines = await manifest(result.snapshotKey);
  const previous = await manifest(first.snapshotKey);

  const byId = new Map(lines.map((l) => [l.itemId, l]));
  for (const id of newIds) assert.ok(byId.has(id), 'every new label is in the snapshot');
  const newLines = lines.filter((l) => l.role === 'new');
  assert.ok(newLines.every((l) => newIds.has(l.itemId)), 'only new labels are new');
  assert.deepEqual(newLines.length, [...newIds].filter((id) => byId.get(id)!.split === 'train').length);
  assert.equal(result.newItems, newLines.length);
  assert.equal(result.humanLabels, 130, 'every human label up to the watermark, not only the snapshot');

  // Replay: round(0.5 × older train items), spread within one of balanced per class.
  const olderTrain = previous.filter((l) => l.split === 'train');
  const replay = lines.filter((l) => l.role === 'replay');
  assert.equal(result.replayedItems, replay.length);
  assert.equal(replay.length, Math.round(0.5 * olderTrain.length));
  const olderIds = new Set(olderTrain.map((l) => l.itemId));
  assert.ok(replay.every((l) => olderIds.has(l.itemId)));
  const perClass = countBy(replay, (l) => l.label);
  const balanced = replay.length / CLASSES.length;
  for (const c of CLASSES) assert.ok(Math.abs((perClass[c] ?? 0) - balanced) <= 1, `class ${c}: ${perClass[c]} vs ${balanced}`);

  // The frozen test split: every test item is evaluated, none is trained on.
  const { items } = await client.listItems({ datasetId, split: 3, limit: 1000, status: 0, label: '', source: 0, cursor: '' });
  const testIds = new Set(items.map((i) => i.id));
  assert.ok(testIds.size > 0);
  for (const l of lines) assert.equal(testIds.has(l.itemId), l.role === 'test', `${l.itemId} is ${l.role}`);
  assert.equal(result.metrics.test.items, testIds.size);
});

test('cancelling stops the job within a batch; a resumed job continues at the next epoch on the frozen snapshot', async () => {
  const controller = new AbortController();
  const run = hooks({
    signal: controller.signal,
    onProgress: (p) => {
      if (p.phase === 'training' && p.epoch === 2 && p.batch === 1) controller.abort();
    },
  });
  const three = input(3, { hyperParameters: { ...input(3).hyperParameters, epochs: 3 } });
  await assert.rejects(runTrainingJob(deps, three, run.h), JobCancelledError);
  assert.deepEqual(run.saved.map((s) => s.epoch), [1]);
  assert.equal(await deps.blobs.head(`models/${datasetId}/3/labelloop.json`), undefined, 'no artifact after a cancel');
  const frozen = await manifest(`models/${datasetId}/3/snapshot.jsonl`);

  await uploadLabelled(1); // labels after the snapshot must not change a resumed job's data
  const resumed = hooks({ checkpoint: run.saved[0]! });
  const result = await runTrainingJob(deps, three, resumed.h);
  assert.equal(result.epochsTrained, 3);
  assert.deepEqual(resumed.saved.map((s) => s.epoch), [2, 3]);
  assert.ok(resumed.events.filter((e) => e.phase === 'training').every((e) => e.epoch >= 2));
  assert.deepEqual(await manifest(result.snapshotKey), frozen);
  assert.equal(result.metrics.test.items, frozen.filter((l) => l.role === 'test').length);
});

test('bad hyper-parameters are refused before any work, naming each problem', async () => {
  const bad = input(9, { hyperParameters: { optimizer: 'sgd', learningRate: 0, epochs: 0, momentum: 0, batchSize: 32 }, replayRatio: 2 });
  await assert.rejects(
    runTrainingJob(deps, bad, hooks().h),
    (e: Error) => e instanceof InvalidArgumentError && /epochs/.test(e.message) && /learningRate/.test(e.message) && /replayRatio/.test(e.message),
  );
  assert.equal(await deps.blobs.head(`models/${datasetId}/9/snapshot.jsonl`), undefined);
});
