import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mnistLabel, mnistPng } from '@labelloop/testing';
import { type Api, archiveForm, filesForm, waitFor } from '../src/api.js';
import { type RunningSystem, startSystem } from '../src/system.js';
import { buildZip, readZip } from '../src/zip.js';

// The issue's "tried as a new user would" flow, REST only, against the system as `npm start` runs it.

const CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
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
    const page = await api.get(`/v1/datasets/${datasetId}/items?limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(page.status, 200);
    items.push(...page.body.items);
    cursor = page.body.nextCursor ?? '';
  } while (cursor);
  return items;
}

async function importAndWait(api: Api, datasetId: string, zip: Buffer, name: string): Promise<any> {
  const started = await api.post(`/v1/datasets/${datasetId}/imports`, archiveForm(zip, name));
  assert.equal(started.status, 202, JSON.stringify(started.body));
  const importId = started.body.importId ?? started.body.id;
  return waitFor(
    async () => {
      const progress = await api.get(`/v1/imports/${importId}`);
      assert.equal(progress.status, 200);
      return ['succeeded', 'failed'].includes(progress.body.status) ? progress.body : undefined;
    },
    120_000,
    `import ${importId}`,
  );
}

test('create, upload, import, label, export, re-import: what goes in comes back out', async () => {
  const { admin, anonymous } = system;
  assert.equal((await anonymous.get('/v1/datasets')).status, 401);

  const created = await admin.post('/v1/datasets', {
    name: 'digits',
    classes: CLASSES,
    image: { width: 28, height: 28, channels: 1 },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const datasetId: string = created.body.id;

  // 20 MNIST digits uploaded as PNG files, unlabelled.
  const uploads = await Promise.all(
    Array.from({ length: 20 }, async (_, i) => ({ name: `test-${i}.png`, bytes: await mnistPng('test', i) })),
  );
  const uploaded = await admin.post(`/v1/datasets/${datasetId}/items`, filesForm(uploads));
  assert.equal(uploaded.status, 201, JSON.stringify(uploaded.body));
  assert.equal(uploaded.body.created, 20);

  // 1,000 digits imported as a ZIP in the train/<class>/ layout.
  const entries: Array<[string, Buffer]> = [];
  for (let i = 0; i < 1000; i++) entries.push([`train/${mnistLabel('train', i)}/train-${i}.png`, await mnistPng('train', i)]);
  const imported = await importAndWait(admin, datasetId, await buildZip(entries), 'digits.zip');
  assert.equal(imported.status, 'succeeded', JSON.stringify(imported));
  assert.equal(imported.created, 1000);
  assert.equal(imported.rejected, 0);

  // Label a few of the uploaded digits with their true class.
  const unlabelled = (await admin.get(`/v1/datasets/${datasetId}/items?status=unlabelled&limit=100`)).body.items;
  assert.equal(unlabelled.length, 20);
  const byName = new Map<string, any>(unlabelled.map((item: any) => [item.fileName, item]));
  for (let i = 0; i < 8; i++) {
    const item = byName.get(`test-${i}.png`);
    const labelled = await admin.put(`/v1/items/${item.id}/label`, { label: String(mnistLabel('test', i)), expectedVersion: 0 });
    assert.equal(labelled.status, 200, JSON.stringify(labelled.body));
  }

  const stats = (await admin.get(`/v1/datasets/${datasetId}`)).body.statistics;
  assert.equal(stats.totalItems, 1020);
  assert.equal(stats.byStatus.labelled, 1008);
  assert.equal(stats.byStatus.unlabelled, 12);

  // The exported ZIP's folders hold exactly what the statistics count.
  const exported = await admin.get(`/v1/datasets/${datasetId}/export?format=zip`);
  assert.equal(exported.status, 200);
  assert.match(exported.headers.get('content-type') ?? '', /zip/);
  const files = await readZip(exported.body);
  const perSplit: Record<string, number> = {};
  const perClass: Record<string, number> = {};
  for (const path of files.keys()) {
    const parts = path.split('/');
    if (parts.length !== 3) continue; // manifest files at the root
    perSplit[parts[0]!] = (perSplit[parts[0]!] ?? 0) + 1;
    perClass[parts[1]!] = (perClass[parts[1]!] ?? 0) + 1;
  }
  for (const split of ['train', 'validation', 'test']) assert.equal(perSplit[split] ?? 0, Number(stats.bySplit[split] ?? 0), split);
  for (const cls of CLASSES) assert.equal(perClass[cls] ?? 0, Number(stats.byClass[cls] ?? 0), `class ${cls}`);
  assert.ok(files.has('manifest.csv'));

  const csv = await admin.get(`/v1/datasets/${datasetId}/export?format=csv`);
  assert.equal(csv.status, 200);
  const csvLines = csv.body.toString('utf8').trim().split('\n');
  assert.equal(csvLines.length, 1 + 1008);
  assert.match(csvLines[0]!, /item_id.*file_name.*sha256.*label.*label_source.*model_version.*confidence.*split.*labeled_at/);

  // Re-importing the export into a new dataset gives the same labels (and splits) for the same bytes.
  const copy = await admin.post('/v1/datasets', { name: 'digits-copy', classes: CLASSES });
  assert.equal(copy.status, 201);
  const reimported = await importAndWait(admin, copy.body.id, exported.body, 'digits-labelled.zip');
  assert.equal(reimported.status, 'succeeded', JSON.stringify(reimported));
  assert.equal(reimported.created, 1008);
  const original = new Map((await listAll(admin, datasetId)).filter((i) => i.label).map((i) => [i.sha256, i]));
  const copied = await listAll(admin, copy.body.id);
  assert.equal(copied.length, original.size);
  for (const item of copied) {
    const source = original.get(item.sha256);
    assert.ok(source, `unexpected item ${item.sha256}`);
    assert.equal(item.label.value, source.label.value);
    assert.equal(item.split, source.split);
  }
});
