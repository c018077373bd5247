// The inference service as a process (src/main.ts) next to a real trainer process and the dataset
// service: a trained model is promoted → the running replica loads it and scores the pool; a replica
// started later finds the champion through the trainer; SIGTERM ends the process cleanly.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createGrpcChannel, createGrpcClient } from '@labelloop/common';
import { inferenceV1, trainingV1 } from '@labelloop/proto';
import { createTestDatabase, makeTempDir, mnistPng, type TestDatabase } from '@labelloop/testing';
import { INFERENCE_IMAGES_TOTAL, INFERENCE_MODELS_LOADED, INFERENCE_PREDICT_SECONDS, SCORING_SHARD_SECONDS, SCORING_SHARDS_TOTAL } from '../src/metrics.js';
import { startDatasetInfra, uploadDigits, type DatasetInfra, type UploadedDigits } from './support/dataset.js';
import { eventually } from './support/harness.js';
import { freePort, INFERENCE_DIR, s3Env, spawnService, TRAINER_DIR, type ServiceProcess } from './support/processes.js';

let infra: DatasetInfra;
let digits: UploadedDigits;
let trainer: ServiceProcess;
let trainerAddr: string;
const processes: ServiceProcess[] = [];
const cleanups: Array<() => Promise<void> | void> = [];
const channels: Array<{ close(): void }> = [];

function natsEnv(): Record<string, string> {
  return { NATS_URL: infra.nats.url, EVENTS_STREAM: infra.nats.streamName, EVENTS_SUBJECT_PREFIX: infra.nats.subjectPrefix };
}

function datasetAddr(): string {
  return infra.datasetAddr;
}

async function trainerDatabase(): Promise<Record<string, string>> {
  if (process.env.DATABASE_URL) {
    const db: TestDatabase = await createTestDatabase();
    cleanups.push(() => db.close());
    return { DATABASE_URL: db.url! };
  }
  const dir = makeTempDir('trainer-pglite');
  cleanups.push(() => dir.remove());
  return { PGLITE_DIR: dir.path };
}

async function startInferenceProcess(): Promise<{ process: ServiceProcess; client: ReturnType<typeof createGrpcClient<typeof inferenceV1.InferenceServiceDefinition>>; metricsUrl: string }> {
  const [grpcPort, metricsPort] = [await freePort(), await freePort()];
  const p = await spawnService(
    INFERENCE_DIR,
    {
      GRPC_PORT: String(grpcPort),
      METRICS_PORT: String(metricsPort),
      ...s3Env(infra.s3),
      ...natsEnv(),
      DATASET_ADDR: datasetAddr(),
      TRAINER_ADDR: trainerAddr,
      INFERENCE_WORKERS: '1',
      SCORING_POLL_INTERVAL: '200ms',
      SCORING_SHARD_SIZE: '32',
    },
    'inference service ready',
  );
  processes.push(p);
  const channel = createGrpcChannel(`127.0.0.1:${grpcPort}`);
  channels.push(channel);
  return { process: p, client: createGrpcClient(inferenceV1.InferenceServiceDefinition, channel), metricsUrl: `http://127.0.0.1:${metricsPort}/metrics` };
}

before(async () => {
  infra = await startDatasetInfra();
  digits = await uploadDigits(infra.client, { from: 2000, labelled: 100, unlabelled: 60 });
  const grpcPort = await freePort();
  trainerAddr = `127.0.0.1:${grpcPort}`;
  trainer = await spawnService(
    TRAINER_DIR,
    { GRPC_PORT: String(grpcPort), METRICS_PORT: String(await freePort()), ...s3Env(infra.s3), ...natsEnv(), DATASET_ADDR: datasetAddr(), TRAINER_WORKERS: '1', ...(await trainerDatabase()) },
    'trainer service ready',
  );
  processes.push(trainer);
});

after(async () => {
  for (const c of channels) c.close();
  for (const p of processes) p.kill();
  await Promise.all(processes.map((p) => p.exited));
  for (const c of cleanups.reverse()) await c();
  await infra?.close();
});

test('a promoted model is loaded and scores the pool; a later replica finds it through the trainer; SIGTERM exits 0', async () => {
  const first = await startInferenceProcess();
  // Registered at start: listed before any traffic.
  const idle = await (await fetch(first.metricsUrl)).text();
  for (const name of [INFERENCE_IMAGES_TOTAL, INFERENCE_PREDICT_SECONDS, INFERENCE_MODELS_LOADED, SCORING_SHARDS_TOTAL, SCORING_SHARD_SECONDS]) {
    assert.match(idle, new RegExp(`# TYPE ${name} `), name);
  }
  assert.deepEqual((await first.client.listLoadedModels({})).models, []);

  const trainerChannel = createGrpcChannel(trainerAddr);
  channels.push(trainerChannel);
  const trainerClient = createGrpcClient(trainingV1.TrainerServiceDefinition, trainerChannel);
  const { run } = await trainerClient.startTrainingRun({
    datasetId: digits.datasetId,
    hyperParameters: { optimizer: trainingV1.OptimizerName.OPTIMIZER_NAME_ADAM, learningRate: 0.003, epochs: 3, momentum: 0, batchSize: 16 },
  });
  const model = await eventually(
    'the trained model to become champion',
    async () => (await trainerClient.listModels({ datasetId: digits.datasetId })).models.find((m) => m.status === trainingV1.ModelStatus.MODEL_STATUS_CHAMPION),
    240_000,
  );
  assert.equal(model.runId, run!.id);

  // model.promoted → this replica loads the champion …
  const loaded = await eventually('the champion to load', async () => (await first.client.listLoadedModels({})).models[0]);
  assert.equal(loaded.datasetId, digits.datasetId);
  assert.deepEqual([loaded.model?.modelId, loaded.model?.modelVersion, loaded.model?.runId], [model.id, model.version, model.runId]);
  // … and scores the whole dataset.
  const job = await eventually(
    'the pool to be scored',
    async () => (await infra.client.listScoringJobs({ datasetId: digits.datasetId, limit: 5 })).jobs.find((j) => j.shardsTotal > 0 && j.shardsDone === j.shardsTotal),
    120_000,
  );
  assert.equal(job.modelVersion, model.version);
  assert.equal(job.itemsScored, digits.labelled + digits.unlabelled);

  const png = await mnistPng('test', 0);
  const answer = await first.client.predict({ datasetId: digits.datasetId, images: [{ fileName: 'seven.png', content: png }], topK: 3 });
  assert.equal(answer.predictions[0]!.fileName, 'seven.png');
  assert.equal(answer.model?.modelVersion, model.version);
  const busy = await (await fetch(first.metricsUrl)).text();
  assert.match(busy, new RegExp(`${INFERENCE_IMAGES_TOTAL}\\{dataset_id="${digits.datasetId}",kind="scoring",service="inference"\\} ${digits.labelled + digits.unlabelled}`));
  assert.match(busy, new RegExp(`${SCORING_SHARDS_TOTAL}\\{outcome="recorded",service="inference"\\} ${job.shardsTotal}`));
  assert.match(busy, new RegExp(`${INFERENCE_MODELS_LOADED}\\{service="inference"\\} 1`));

  // A replica started now asks the trainer for the champion before it serves.
  const second = await startInferenceProcess();
  const [ready] = second.process.logs('inference service ready');
  assert.deepEqual(ready!.champions, { champions: 1, none: 0, failed: 0 });
  const listed = (await second.client.listLoadedModels({})).models;
  assert.deepEqual(listed.map((m) => [m.datasetId, m.model?.modelId]), [[digits.datasetId, model.id]]);

  for (const p of [first.process, second.process]) {
    p.child.kill('SIGTERM');
    assert.equal(await p.exited, 0, p.output().slice(-2000));
    assert.equal(p.logs('shutdown complete').length, 1);
  }
});
