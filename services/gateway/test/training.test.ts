// The training routes against a REAL trainer: its src/main.ts as a process (own database, the
// stack's dataset server, S3 and NATS) behind the gateway. Runs, server-sent events, models,
// promotion and rollback, the retrain policy, cancellation, and the retrain command end to end.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, makeTempDir, mnistLabel, mnistPng, type TempDir, type TestDatabase } from '@labelloop/testing';
import { runRetrain } from '../src/cli/retrain-command.js';
import { readSse, type SseEvent } from '../src/cli/sse-reader.js';
import { Client, expectJson, expectProblem } from './support/http.js';
import { startStack, type Stack } from './support/stack.js';

const TRAINER_DIR = fileURLToPath(new URL('../../trainer', import.meta.url));
const CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
const QUICK = { optimizer: 'adam', learningRate: 0.002, epochs: 2, momentum: 0.9, batchSize: 32 };

let stack: Stack;
let admin: Client;
let labeller: Client;
let trainer: ChildProcess;
let trainerOutput = '';
let trainerDb: TestDatabase | undefined;
let trainerDir: TempDir | undefined;
let datasetId: string;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

before(async () => {
  const trainerPort = await freePort();
  stack = await startStack({ trainerAddr: `127.0.0.1:${trainerPort}`, sseHeartbeatMs: 300 });
  admin = new Client(stack.baseUrl, stack.adminKey);
  const created = await expectJson<{ key: string }>(await admin.send('POST', '/v1/api-keys', { name: 'lab', role: 'labeller' }), 201);
  labeller = admin.as(created.key);

  const database: Record<string, string> = {};
  if (process.env.DATABASE_URL) {
    trainerDb = await createTestDatabase();
    database.DATABASE_URL = trainerDb.url!;
  } else {
    trainerDir = makeTempDir('gateway-trainer');
    database.PGLITE_DIR = trainerDir.path;
  }
  const s3 = stack.s3.config;
  trainer = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'src/main.ts'], {
    cwd: TRAINER_DIR,
    env: {
      PATH: process.env.PATH ?? '',
      GRPC_PORT: String(trainerPort),
      METRICS_PORT: String(await freePort()),
      HOST: '127.0.0.1',
      // debug: every finished gRPC call is logged with its code (the disconnect test reads them).
      LOG_LEVEL: 'debug',
      ...database,
      S3_ENDPOINT: s3.endpoint ?? '',
      S3_REGION: s3.region,
      S3_BUCKET: s3.bucket,
      S3_ACCESS_KEY_ID: s3.accessKeyId ?? '',
      S3_SECRET_ACCESS_KEY: s3.secretAccessKey ?? '',
      S3_FORCE_PATH_STYLE: String(s3.forcePathStyle),
      NATS_URL: stack.nats.url,
      EVENTS_STREAM: stack.nats.streamName,
      EVENTS_SUBJECT_PREFIX: stack.nats.subjectPrefix,
      DATASET_ADDR: stack.datasetAddr,
      TRAINER_WORKERS: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  trainer.stdout!.setEncoding('utf8').on('data', (chunk: string) => (trainerOutput += chunk));
  trainer.stderr!.setEncoding('utf8').on('data', (chunk: string) => (trainerOutput += chunk));

  const dataset = await expectJson<{ id: string }>(
    await admin.send('POST', '/v1/datasets', { name: 'digits', classes: CLASSES, image: { width: 28, height: 28, channels: 1 } }),
    201,
  );
  datasetId = dataset.id;
  // 20 labelled digits per class (MNIST train 0..~220), uploaded class by class.
  const byClass = new Map<string, number[]>(CLASSES.map((c) => [c, []]));
  for (let i = 0; [...byClass.values()].some((list) => list.length < 20); i++) {
    const list = byClass.get(String(mnistLabel('train', i)))!;
    if (list.length < 20) list.push(i);
  }
  for (const [digit, indexes] of byClass) {
    const files = await Promise.all(indexes.map(async (i) => ({ name: `d${i}.png`, content: await mnistPng('train', i) })));
    // The test gateway takes 8 files a request.
    for (let at = 0; at < files.length; at += 8) {
      await expectJson(await labeller.postForm(`/v1/datasets/${datasetId}/items`, [['label', digit]], files.slice(at, at + 8)), 201);
    }
  }
  // The trainer is up once the gateway gets an answer from it.
  const deadline = Date.now() + 90_000;
  while ((await admin.get(`/v1/datasets/${datasetId}/retrain-policy`)).status === 503) {
    if (Date.now() > deadline || trainer.exitCode !== null) throw new Error(`the trainer did not start:\n${trainerOutput.slice(-3000)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
});
after(async () => {
  trainer?.kill('SIGTERM');
  await new Promise((resolve) => (trainer?.exitCode === null ? trainer.once('exit', resolve) : resolve(undefined)));
  await stack?.close();
  await trainerDb?.close();
  trainerDir?.remove();
});

/** GET …/events until the stream closes: the events and the heartbeat comments seen. */
async function readEvents(runId: string, client = admin): Promise<{ events: SseEvent[]; heartbeats: number }> {
  const response = await client.get(`/v1/training-runs/${runId}/events`);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  const raw = await response.text();
  const events: SseEvent[] = [];
  for await (const event of readSse([new TextEncoder().encode(raw)])) events.push(event);
  return { events, heartbeats: raw.split('\n').filter((line) => line === ': heartbeat').length };
}

async function startRun(body: unknown): Promise<any> {
  const response = await labeller.send('POST', `/v1/datasets/${datasetId}/training-runs`, body);
  const run = await expectJson<any>(response, 202);
  assert.equal(response.headers.get('location'), `/v1/training-runs/${run.id}`);
  return run;
}

let model1: any;

test('a run: 202 + Location, progress over server-sent events, then end; the model with its metrics', async () => {
  const started = await startRun({ hyperParameters: QUICK });
  assert.deepEqual([started.status, started.trigger, started.requestedBy], ['queued', 'api', 'lab']);
  assert.deepEqual(started.hyperParameters, QUICK);

  const { events } = await readEvents(started.id);
  const end = events.at(-1)!;
  assert.equal(end.event, 'end');
  const finished = JSON.parse(end.data);
  assert.equal(finished.status, 'succeeded', finished.failureReason);
  const progress = events.slice(0, -1).map((e) => (assert.equal(e.event, 'progress'), JSON.parse(e.data)));
  assert.equal(progress[0].runId, started.id);
  const training = progress.filter((p) => p.phase === 'training' && p.epoch >= 1);
  assert.ok(training.length >= 1, JSON.stringify(progress));
  for (const p of training) {
    assert.equal(p.epochs, 2);
    for (const field of ['loss', 'accuracy', 'imagesPerSecond', 'etaSeconds']) assert.equal(typeof p[field], 'number', field);
  }
  assert.equal(progress.at(-1).status, 'succeeded');

  assert.deepEqual(await expectJson(await admin.get(`/v1/training-runs/${started.id}`), 200), finished);
  const page = await expectJson<any>(await admin.get(`/v1/datasets/${datasetId}/training-runs`), 200);
  assert.deepEqual(page.runs.map((r: any) => r.id), [started.id]);

  model1 = await expectJson<any>(await admin.get(`/v1/models/${finished.modelId}`), 200);
  assert.deepEqual([model1.version, model1.status, model1.runId], [1, 'champion', started.id]);
  assert.deepEqual(model1.classes, CLASSES);
  assert.deepEqual(model1.hyperParameters, QUICK);
  for (const split of ['test', 'validation']) {
    const m = model1.metrics[split];
    assert.equal(m.confusionMatrix.length, 10);
    assert.ok(m.confusionMatrix.every((row: number[]) => row.length === 10));
    assert.equal(m.confusionMatrix.flat().reduce((a: number, b: number) => a + b, 0), m.items);
    assert.deepEqual(m.perClass.map((c: any) => c.className), CLASSES);
    assert.ok(m.accuracy >= 0 && m.accuracy <= 1);
  }
  assert.equal(model1.snapshot.key, `models/${datasetId}/1/snapshot.jsonl`);
  assert.ok(model1.snapshot.newItems > 0);
  assert.deepEqual((await expectJson<any>(await admin.get(`/v1/datasets/${datasetId}/models`), 200)).models.map((m: any) => m.id), [
    model1.id,
  ]);
  await expectProblem(await admin.get(`/v1/models/${randomUUID()}`), 404);
  await expectProblem(await admin.get('/v1/models/not-a-uuid'), 400);
  await expectProblem(await admin.get(`/v1/training-runs/${randomUUID()}/events`), 404);
  await expectProblem(await admin.send('POST', `/v1/datasets/${randomUUID()}/training-runs`, {}), 404);
});

test('retrain policy: defaults, and a partial PUT keeps the other fields', async () => {
  const initial = await expectJson<any>(await admin.get(`/v1/datasets/${datasetId}/retrain-policy`), 200);
  assert.equal(initial.everyHumanLabels, 0, 'off by default');
  const changed = await expectJson<any>(await admin.send('PUT', `/v1/datasets/${datasetId}/retrain-policy`, { replayRatio: 0.3 }), 200);
  assert.deepEqual(changed, { ...initial, replayRatio: 0.3 });
  assert.deepEqual(await expectJson(await admin.get(`/v1/datasets/${datasetId}/retrain-policy`), 200), changed);
});

test('the retrain command: a schedule-triggered run followed to success (exit 0); promote and roll back', async () => {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runRetrain(['--dataset', datasetId, '--url', stack.baseUrl], {
    env: { LABELLOOP_API_KEY: labeller.key },
    out: (line) => out.push(line),
    err: (line) => err.push(line),
  });
  assert.equal(code, 0, [...out, ...err].join('\n'));
  assert.ok(out.some((line) => / epoch \d+\/\d+ loss \d/.test(line)), out.join('\n'));
  const match = /^run (\S+) succeeded: model (\S+)$/.exec(out.at(-1)!);
  assert.ok(match, out.join('\n'));
  const run = await expectJson<any>(await admin.get(`/v1/training-runs/${match[1]}`), 200);
  assert.deepEqual([run.trigger, run.requestedBy], ['schedule', 'schedule']);

  // Model 2 may or may not have won automatically; promote it by hand, then roll back to model 1.
  await expectProblem(await labeller.fetch(`/v1/models/${match[2]}/promote`, { method: 'POST' }), 403);
  const promoted = await expectJson<any>(await admin.fetch(`/v1/models/${match[2]}/promote`, { method: 'POST' }), 200);
  assert.deepEqual([promoted.version, promoted.status], [2, 'champion']);
  const restored = await expectJson<any>(await admin.fetch(`/v1/datasets/${datasetId}/models/rollback`, { method: 'POST' }), 200);
  assert.deepEqual([restored.id, restored.status], [model1.id, 'champion']);
  const models = (await expectJson<any>(await admin.get(`/v1/datasets/${datasetId}/models`), 200)).models;
  assert.deepEqual(models.map((m: any) => m.version), [2, 1]);
  assert.notEqual(models[0].status, 'champion');
});

test('cancel: DELETE stops a running run; its event stream ends with cancelled, the command exits 1', async () => {
  const err: string[] = [];
  const command = runRetrain(['--dataset', datasetId, '--url', stack.baseUrl], {
    env: { LABELLOOP_API_KEY: labeller.key },
    out: () => {},
    err: (line) => err.push(line),
  });
  // The command's run: the newest of the dataset, once it trains.
  let running: any;
  const deadline = Date.now() + 60_000;
  while (!running) {
    const runs = (await expectJson<any>(await admin.get(`/v1/datasets/${datasetId}/training-runs?limit=1`), 200)).runs;
    if (runs[0]?.trigger === 'schedule' && runs[0].status === 'running') running = runs[0];
    else if (Date.now() > deadline) throw new Error('the run never started');
    else await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const cancelled = await expectJson<any>(await labeller.fetch(`/v1/training-runs/${running.id}`, { method: 'DELETE' }), 200);
  assert.equal(cancelled.id, running.id);
  assert.equal(await command, 1);
  assert.match(err.join('\n'), new RegExp(`^retrain: run ${running.id} cancelled`, 'm'));
  const { events } = await readEvents(running.id);
  assert.equal(events.length, 2, 'a finished run: its state, then end');
  assert.equal(JSON.parse(events[1]!.data).status, 'cancelled');
});

test('a client that leaves the event stream cancels the gRPC watch; heartbeats keep an idle stream open', async () => {
  const run = await startRun({ hyperParameters: { ...QUICK, epochs: 200 } });
  // Streams that ended after their `end` event were cancelled by the gateway too: count new ones.
  const cancelledWatches = () =>
    trainerOutput.split('\n').filter((line) => line.includes('/WatchTrainingRun') && line.includes('"code":"CANCELLED"')).length;
  const before = cancelledWatches();
  const aborter = new AbortController();
  const response = await admin.fetch(`/v1/training-runs/${run.id}/events`, { signal: aborter.signal });
  let heartbeats = 0;
  const decoder = new TextDecoder();
  for await (const chunk of response.body!) {
    heartbeats += decoder.decode(chunk).split('\n').filter((line) => line === ': heartbeat').length;
    if (heartbeats >= 1) break; // ≥ 300 ms open, a heartbeat seen
  }
  aborter.abort();
  const deadline = Date.now() + 10_000;
  while (cancelledWatches() === before) {
    if (Date.now() > deadline) assert.fail('the trainer never saw the watch cancelled');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await expectJson(await admin.fetch(`/v1/training-runs/${run.id}`, { method: 'DELETE' }), 200);
});
