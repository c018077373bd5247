// Trainer processes killed and stopped mid-run: SIGKILL → the item is redelivered after AckWait to
// a second trainer, which resumes from the epoch checkpoint; SIGTERM → the run is handed back at once.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { trainingV1 } from '@labelloop/proto';
import { createTestDatabase, makeTempDir, type TempDir, type TestDatabase } from '@labelloop/testing';
import { CheckpointStore, checkpointKey } from '../src/adapters/checkpoint-store.js';
import { createDigits, eventually, startInfra, uploadLabelled, type Infra, type TrainerClient } from './support/harness.js';
import { spawnTrainer, type TrainerProcess } from './support/trainer-process.js';

const { RunStatus, OptimizerName } = trainingV1;
let infra: Infra;
let datasetId: string;
const processes: TrainerProcess[] = [];
const cleanups: Array<() => Promise<void> | void> = [];

/** A trainer database the processes share: a PostgreSQL database, or one PGlite folder used in turn. */
async function trainerDatabase(): Promise<{ url?: string; pgliteDir?: string }> {
  if (process.env.DATABASE_URL) {
    const db: TestDatabase = await createTestDatabase();
    cleanups.push(() => db.close());
    return { url: db.url };
  }
  const dir: TempDir = makeTempDir('trainer-pglite');
  cleanups.push(() => dir.remove());
  return { pgliteDir: dir.path };
}

async function spawn(db: { url?: string; pgliteDir?: string }, ackWait: string): Promise<TrainerProcess> {
  const p = await spawnTrainer(infra, db, { TRAINER_ACK_WAIT: ackWait });
  processes.push(p);
  return p;
}

const hyperParameters: trainingV1.HyperParameters = { optimizer: OptimizerName.OPTIMIZER_NAME_ADAM, learningRate: 0.003, epochs: 6, momentum: 0, batchSize: 8 };

before(async () => {
  infra = await startInfra();
  datasetId = await createDigits(infra);
  await uploadLabelled(infra, datasetId, 8);
});

after(async () => {
  for (const p of processes) p.close();
  await Promise.all(processes.map((p) => p.exited));
  for (const c of cleanups.reverse()) await c();
  await infra?.close();
});

function getRun(client: TrainerClient, runId: string): Promise<trainingV1.TrainingRun> {
  return client.getTrainingRun({ runId }).then((r) => r.run!);
}

test('a trainer killed with SIGKILL mid-run: a second trainer completes the run from the checkpoint', async () => {
  const db = await trainerDatabase();
  const first = await spawn(db, '3s');
  const { run } = await first.client.startTrainingRun({ datasetId, hyperParameters });
  const key = checkpointKey(datasetId, run!.id);
  await eventually('an epoch checkpoint', async () => (await infra.s3.store.head(key)) !== undefined, 90_000);
  first.child.kill('SIGKILL');
  assert.equal(await first.exited, 'SIGKILL');
  const saved = await new CheckpointStore(infra.s3.store).load(key);
  assert.ok(saved && saved.epoch >= 1 && saved.epoch < hyperParameters.epochs, `checkpoint at epoch ${saved?.epoch}`);

  const second = await spawn(db, '3s');
  // Everything the second attempt reported while training: it must start after the saved epoch.
  const epochs: number[] = [];
  for await (const { run: r } of second.client.watchTrainingRun({ runId: run!.id })) {
    if (r!.attempts === 2 && r!.progress!.phase === 'training') epochs.push(r!.progress!.epoch);
  }
  const done = await getRun(second.client, run!.id);
  assert.equal(done.status, RunStatus.RUN_STATUS_SUCCEEDED, done.failureReason);
  assert.equal(done.attempts, 2);
  assert.ok(epochs.length > 0, 'saw the second attempt train');
  assert.equal(Math.min(...epochs), saved!.epoch + 1, `resumed after epoch ${saved!.epoch}, saw ${epochs.join(',')}`);
  assert.ok(done.modelId);
  second.close();
  await second.exited;
});

test('SIGTERM hands the running work back: the run is queued again and the next trainer takes it at once', async () => {
  const db = await trainerDatabase();
  // AckWait far longer than the test: only a hand-back (nak) brings the item back this fast.
  const first = await spawn(db, '120s');
  const { run } = await first.client.startTrainingRun({ datasetId, hyperParameters: { ...hyperParameters, epochs: 40 } });
  await eventually('training', async () => {
    const r = await getRun(first.client, run!.id);
    return r.status === RunStatus.RUN_STATUS_RUNNING && r.progress!.phase === 'training' && r.progress!.batch >= 1;
  }, 90_000);
  first.child.kill('SIGTERM');
  assert.equal(await first.exited, 0, first.output().slice(-2000));
  assert.match(first.output(), /work item handed back/);

  const second = await spawn(db, '120s');
  const handedBack = await getRun(second.client, run!.id);
  assert.ok([RunStatus.RUN_STATUS_QUEUED, RunStatus.RUN_STATUS_RUNNING].includes(handedBack.status), `status ${handedBack.status}`);
  const running = await eventually('the second trainer running it', async () => {
    const r = await getRun(second.client, run!.id);
    return r.attempts === 2 && r.status === RunStatus.RUN_STATUS_RUNNING ? r : undefined;
  }, 30_000);
  assert.equal(running.attempts, 2);
  await second.client.cancelTrainingRun({ runId: run!.id });
  second.child.kill('SIGTERM');
  assert.equal(await second.exited, 0);
});
