import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EMBEDDED_S3_CREDENTIALS } from '@labelloop/embedded';
import { S3BlobStore } from '@labelloop/storage';
import { mnistLabel, mnistPng } from '@labelloop/testing';
import { type Api, archiveForm, filesForm, waitFor } from '../src/api.js';
import { type RunningSystem, startSystem } from '../src/system.js';
import { buildZip } from '../src/zip.js';

// Issue 4's "must show", through the REST API of the system as `npm start` runs it: 1,000 labelled
// MNIST training digits (+ held-out validation and test digits) → a run followed over server-sent events → a champion with ≥ 94 % test accuracy;
// 200 more labels → `npm run retrain` (exit 0) → a snapshot of exactly the new train labels plus a
// class-balanced replay of the older ones (the rule in services/trainer/src/domain/job/snapshot-plan.ts).

const CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
let system: RunningSystem;

before(async () => {
  system = await startSystem();
});
after(async () => {
  await system?.close();
});

async function listAll(api: Api, datasetId: string): Promise<any[]> {
  const items: any[] = [];
  let cursor = '';
  do {
    const page = await api.get(`/v1/datasets/${datasetId}/items?status=labelled&limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(page.status, 200);
    items.push(...page.body.items);
    cursor = page.body.nextCursor ?? '';
  } while (cursor);
  return items;
}

/** POST a run; the trainer may still be starting (503) right after the gateway is ready. */
async function startRun(api: Api, datasetId: string): Promise<any> {
  return waitFor(
    async () => {
      const started = await api.post(`/v1/datasets/${datasetId}/training-runs`);
      if (started.status === 503) return undefined;
      assert.equal(started.status, 202, JSON.stringify(started.body));
      assert.equal(started.headers.get('location'), `/v1/training-runs/${started.body.id}`);
      return started.body;
    },
    120_000,
    'the trainer to accept a run',
  );
}

/** Reads GET …/events to its end: every `progress` event's data and the final `end` event's run. */
async function followEvents(runId: string): Promise<{ progress: any[]; end: any }> {
  const response = await fetch(`${system.labelloop.gatewayUrl}/v1/training-runs/${runId}/events`, {
    headers: { authorization: `Bearer ${system.admin.key}` },
    signal: AbortSignal.timeout(20 * 60_000),
  });
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
  const progress: any[] = [];
  let end: any;
  // The gateway writes one-line data fields; an event is the lines up to a blank one.
  let event = '';
  for await (const line of createInterface({ input: Readable.fromWeb(response.body as any) })) {
    if (line.startsWith('event: ')) event = line.slice(7);
    else if (line.startsWith('data: ')) {
      const data = JSON.parse(line.slice(6));
      if (event === 'progress') progress.push(data);
      else if (event === 'end') end = data;
      else assert.fail(`unexpected ${event} event: ${line}`);
    }
  }
  assert.ok(end, 'the stream ends with an end event');
  return { progress, end };
}

test('train on 1,000 digits, follow it, champion ≥ 94 %; label 200 more, retrain by command, check the snapshot', async (t) => {
  const { admin } = system;
  const created = await admin.post('/v1/datasets', { name: 'digits', classes: CLASSES, image: { width: 28, height: 28, channels: 1 } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const datasetId: string = created.body.id;

  // 1,000 labelled training digits in train/<class>/, and the MNIST test set held out: its first
  // 200 digits for validation, the other 9,800 for test. 150 test items (a 70/15/15 split of the
  // 1,000) would measure accuracy to about ±2 %; 1,000 (test digits 200–1199, the earlier layout)
  // to ±0.7 %, and those happen to be harder than the set as a whole (0.94 where all 9,800 give
  // 0.957, same model): models near the 94 % bar passed or failed by the draw.
  const entries: Array<[string, Buffer]> = [];
  for (let i = 0; i < 1000; i++) entries.push([`train/${mnistLabel('train', i)}/train-${i}.png`, await mnistPng('train', i)]);
  for (let i = 0; i < 10_000; i++) {
    const split = i < 200 ? 'validation' : 'test';
    entries.push([`${split}/${mnistLabel('test', i)}/test-${i}.png`, await mnistPng('test', i)]);
  }
  const started = await admin.post(`/v1/datasets/${datasetId}/imports`, archiveForm(await buildZip(entries), 'digits.zip'));
  assert.equal(started.status, 202, JSON.stringify(started.body));
  const imported = await waitFor(
    async () => {
      const job = (await admin.get(`/v1/imports/${started.body.id}`)).body;
      return ['succeeded', 'failed'].includes(job.status) ? job : undefined;
    },
    600_000,
    'the import',
  );
  assert.equal(imported.status, 'succeeded', JSON.stringify(imported));
  assert.equal(imported.created, 11_000);
  const before = await listAll(admin, datasetId);
  const olderTrain = before.filter((item) => item.split === 'train');

  // Run 1, followed as server-sent events.
  const run1 = await startRun(admin, datasetId);
  assert.equal(run1.trigger, 'api');
  const events = await followEvents(run1.id);
  const epochs = events.progress.filter((p) => p.phase === 'training' && p.epoch >= 1);
  assert.ok(epochs.length >= 2, `epochs arrive as progress events (${events.progress.length} events)`);
  for (const p of epochs) {
    assert.equal(p.runId, run1.id);
    assert.ok(Number.isFinite(p.loss) && p.accuracy >= 0 && p.accuracy <= 1 && p.imagesPerSecond >= 0 && p.etaSeconds >= 0);
  }
  assert.ok(epochs.every((p, i) => i === 0 || p.epoch >= epochs[i - 1].epoch), 'epochs never go back');
  assert.equal(events.end.status, 'succeeded', JSON.stringify(events.end));
  assert.equal((await admin.get(`/v1/training-runs/${run1.id}`)).body.status, 'succeeded');

  const model1 = (await admin.get(`/v1/models/${events.end.modelId}`)).body;
  assert.equal(model1.version, 1);
  assert.equal(model1.status, 'champion', model1.promotionDecision);
  assert.ok(model1.metrics.test.accuracy >= 0.94, `test accuracy ${model1.metrics.test.accuracy}`);
  t.diagnostic(`model 1: test accuracy ${model1.metrics.test.accuracy}, macro-F1 ${model1.metrics.test.macroF1} on ${model1.metrics.test.items} items`);
  assert.equal(model1.metrics.test.perClass.length, 10);
  assert.equal(model1.metrics.test.confusionMatrix.flat().reduce((s: number, n: number) => s + n, 0), model1.metrics.test.items);
  assert.equal(model1.metrics.test.items, before.filter((item) => item.split === 'test').length);
  // The first model has no champion before it: every train label is new.
  assert.deepEqual([model1.snapshot.newItems, model1.snapshot.replayedItems], [olderTrain.length, 0]);
  const listed = (await admin.get(`/v1/datasets/${datasetId}/models`)).body.models;
  assert.deepEqual(listed.map((m: any) => m.id), [model1.id]);

  // 200 more labelled digits (MNIST train 1000–1199), uploaded with their labels, class by class.
  const newItems: any[] = [];
  for (const digit of CLASSES) {
    const files = [];
    for (let i = 1000; i < 1200; i++) {
      if (String(mnistLabel('train', i)) === digit) files.push({ name: `train-${i}.png`, bytes: await mnistPng('train', i) });
    }
    const uploaded = await admin.post(`/v1/datasets/${datasetId}/items`, filesForm(files, digit));
    assert.equal(uploaded.status, 201, JSON.stringify(uploaded.body));
    newItems.push(...uploaded.body.results.map((r: any) => r.item));
  }
  assert.equal(newItems.length, 200);
  const newTrain = newItems.filter((item) => item.split === 'train');

  // The scheduled path: `npm run retrain` starts run 2 through the gateway and follows it.
  const child = spawn('npm', ['run', '--silent', 'retrain', '--', '--dataset', datasetId, '--url', system.labelloop.gatewayUrl], {
    cwd: repoRoot,
    env: { ...process.env, LABELLOOP_API_KEY: admin.key },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [code] = (await once(child, 'exit')) as [number];
  assert.equal(code, 0, `retrain exited ${code}\n${stdout}\n${stderr}`);
  assert.match(stdout, /epoch \d+\/\d+ loss \d/);
  const run2Id = /^run (\S+) succeeded: model (\S+)$/m.exec(stdout);
  assert.ok(run2Id, stdout);
  const run2 = (await admin.get(`/v1/training-runs/${run2Id[1]}`)).body;
  assert.deepEqual([run2.status, run2.trigger, run2.requestedBy], ['succeeded', 'schedule', 'schedule']);
  const runs = (await admin.get(`/v1/datasets/${datasetId}/training-runs`)).body.runs;
  assert.deepEqual(runs.map((r: any) => r.id), [run2.id, run1.id]);

  // Run 2's snapshot: the new train labels, plus round(replayRatio × older train items) replayed,
  // spread evenly over the classes.
  const model2 = (await admin.get(`/v1/models/${run2.modelId}`)).body;
  assert.equal(model2.version, 2);
  t.diagnostic(`model 2: ${model2.status}, test accuracy ${model2.metrics.test.accuracy}; snapshot new ${model2.snapshot.newItems}, replayed ${model2.snapshot.replayedItems}`);
  const policy = (await admin.get(`/v1/datasets/${datasetId}/retrain-policy`)).body;
  assert.equal(model2.snapshot.newItems, newTrain.length);
  assert.equal(model2.snapshot.replayedItems, Math.round(policy.replayRatio * olderTrain.length));

  const blobs = new S3BlobStore({
    endpoint: system.labelloop.s3Endpoint,
    region: 'us-east-1',
    bucket: 'labelloop',
    ...EMBEDDED_S3_CREDENTIALS,
    forcePathStyle: true,
  });
  const manifest = (await blobs.getBuffer(model2.snapshot.key))
    .toString('utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { itemId: string; label: string; role: string });
  await blobs.close();
  const ids = (role: string) => manifest.filter((line) => line.role === role).map((line) => line.itemId).sort();
  assert.deepEqual(ids('new'), newTrain.map((item) => item.id).sort(), 'every new train label, nothing else');
  const inManifest = new Set(manifest.map((line) => line.itemId));
  assert.ok(newItems.every((item) => inManifest.has(item.id)), 'all 200 new labels are in the snapshot (train ones as new, others in their split role)');
  const olderIds = new Set(olderTrain.map((item) => item.id));
  const replay = manifest.filter((line) => line.role === 'replay');
  assert.ok(replay.every((line) => olderIds.has(line.itemId)), 'replay comes from the older train items');
  const perClass = CLASSES.map((c) => replay.filter((line) => line.label === c).length);
  assert.ok(Math.max(...perClass) - Math.min(...perClass) <= 1, `class-balanced replay: ${perClass.join(',')}`);
  const all = await listAll(admin, datasetId);
  assert.deepEqual(ids('test'), all.filter((item) => item.split === 'test').map((item) => item.id).sort());
});
