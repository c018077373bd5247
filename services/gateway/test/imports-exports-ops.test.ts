// Imports, exports, the OpenAPI document against express's routes, and the operational
// endpoints, ending with the dataset server stopped.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mnistPng } from '@labelloop/testing';
import { Client, expectJson, expectProblem } from './support/http.js';
import { startStack, type Stack } from './support/stack.js';
import { buildZip, zipEntryNames } from './support/zip.js';

interface ImportJson {
  id: string;
  importId?: string;
  status: string;
  total: number;
  processed: number;
  created: number;
  duplicates: number;
  rejected: number;
  errors: Array<{ fileName: string; code: string; reason: string }>;
  failureReason: string | null;
}

let stack: Stack;
let admin: Client;
let datasetId: string;

before(async () => {
  stack = await startStack();
  admin = new Client(stack.baseUrl, stack.adminKey);
  const dataset = await expectJson<{ id: string }>(
    await admin.send('POST', '/v1/datasets', { name: 'imports demo', classes: ['3', '5', '8'] }),
    201,
  );
  datasetId = dataset.id;
});
after(() => stack?.close());

async function waitForImport(id: string): Promise<ImportJson> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const job = await expectJson<ImportJson>(await admin.get(`/v1/imports/${id}`), 200);
    if (job.status === 'succeeded' || job.status === 'failed' || Date.now() > deadline) return job;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

test('import: 202 + Location, then progress to succeeded with counts', async () => {
  const png = (i: number) => mnistPng('test', 100 + i);
  const zip = buildZip([
    { name: '3/a.png', content: await png(0) },
    { name: '3/b.png', content: await png(1) },
    { name: '5/c.png', content: await png(2) },
    { name: '8/d.png', content: await png(3) },
    { name: 'unlabelled/e.png', content: await png(4) },
  ]);
  const response = await admin.postForm(
    `/v1/datasets/${datasetId}/imports`,
    [['addMissingClasses', 'false']],
    [{ field: 'archive', name: 'digits.zip', content: zip, type: 'application/zip' }],
    { 'x-request-id': 'import-request-1' },
  );
  const accepted = await expectJson<ImportJson>(response, 202);
  assert.equal(accepted.importId, accepted.id);
  assert.equal(response.headers.get('location'), `/v1/imports/${accepted.id}`);
  assert.ok(['pending', 'running', 'succeeded'].includes(accepted.status));
  assert.ok(stack.datasetCalls('StartImport', 'import-request-1') === 1, 'the request id went along');

  const done = await waitForImport(accepted.id);
  assert.equal(done.status, 'succeeded', JSON.stringify(done));
  assert.deepEqual([done.total, done.processed, done.created, done.duplicates, done.rejected], [5, 5, 5, 0, 0]);
  assert.equal(done.failureReason, null);

  const dataset = await expectJson<{ statistics: { totalItems: number; byStatus: Record<string, number> } }>(
    await admin.get(`/v1/datasets/${datasetId}`),
    200,
  );
  assert.equal(dataset.statistics.totalItems, 5);
  assert.equal(dataset.statistics.byStatus.labelled, 4);
});

test('a zip-slip archive is a 400 naming the entry, and starts no import', async () => {
  const zip = buildZip([
    { name: '3/ok.png', content: await mnistPng('test', 200) },
    { name: '../evil.png', content: await mnistPng('test', 201) },
  ]);
  const problem = await expectProblem(
    await admin.postForm(`/v1/datasets/${datasetId}/imports`, [], [
      { field: 'archive', name: 'evil.zip', content: zip, type: 'application/zip' },
    ]),
    400,
  );
  const entry = problem.errors?.find((e) => e.fileName === '../evil.png');
  assert.ok(entry, JSON.stringify(problem));
  assert.ok(entry.reason.length > 0);
  const dataset = await expectJson<{ statistics: { totalItems: number } }>(await admin.get(`/v1/datasets/${datasetId}`), 200);
  assert.equal(dataset.statistics.totalItems, 5);
});

async function storedKeys(): Promise<string[]> {
  const keys: string[] = [];
  for await (const blob of stack.blobs.list('')) keys.push(blob.key);
  return keys.sort();
}

test('every refused archive is a 400 naming the entry and the reason, and stores nothing', async () => {
  const png = await mnistPng('test', 300);
  const cases: Array<{ what: string; entries: Array<{ name: string; content: Buffer; deflate?: boolean }>; entry: string }> = [
    { what: 'absolute path', entries: [{ name: '/etc/3/x.png', content: png }], entry: '/etc/3/x.png' },
    { what: 'parent segment', entries: [{ name: 'train/3/../../x.png', content: png }], entry: 'train/3/../../x.png' },
    { what: 'unknown class folder', entries: [{ name: 'train/7/x.png', content: png }], entry: 'train/7/x.png' },
    // 8 MiB of zeros deflate to ~8 KiB: a ratio of ~1000, far over the limit of 100.
    { what: 'zip bomb', entries: [{ name: '3/bomb.png', content: Buffer.alloc(8 * 1024 * 1024), deflate: true }], entry: '3/bomb.png' },
  ];
  const statsBefore = await expectJson<{ statistics: { totalItems: number } }>(await admin.get(`/v1/datasets/${datasetId}`), 200);
  const keysBefore = await storedKeys();
  for (const { what, entries, entry } of cases) {
    const zip = buildZip([{ name: '3/fine.png', content: await mnistPng('test', 301) }, ...entries]);
    const problem = await expectProblem(
      await admin.postForm(`/v1/datasets/${datasetId}/imports`, [], [
        { field: 'archive', name: `${what}.zip`, content: zip, type: 'application/zip' },
      ]),
      400,
    );
    const named = problem.errors?.find((e) => e.fileName === entry);
    assert.ok(named, `${what}: ${JSON.stringify(problem)}`);
    assert.ok(named.reason.length > 0, what);
  }
  const statsAfter = await expectJson<{ statistics: { totalItems: number } }>(await admin.get(`/v1/datasets/${datasetId}`), 200);
  assert.equal(statsAfter.statistics.totalItems, statsBefore.statistics.totalItems);
  assert.deepEqual(await storedKeys(), keysBefore, 'no object (image or archive copy) was stored');
});

test('import requests without an archive, with a misnamed part, or too big are refused', async () => {
  const path = `/v1/datasets/${datasetId}/imports`;
  await expectProblem(await admin.postForm(path, [['addMissingClasses', 'true']], []), 400);
  await expectProblem(await admin.postForm(path, [], [{ field: 'file', name: 'x.zip', content: Buffer.from('PK') }]), 400);
  const tiny = { field: 'archive', name: 'x.zip', content: Buffer.from('PK') };
  await expectProblem(await admin.postForm(path, [['addMissingClasses', 'perhaps']], [tiny]), 400);
  const huge = Buffer.alloc(4 * 1024 * 1024 + 1);
  await expectProblem(await admin.postForm(path, [], [{ field: 'archive', name: 'big.zip', content: huge }]), 413);
  const empty = { field: 'archive', name: 'x.zip', content: buildZip([]) };
  await expectProblem(await admin.postForm('/v1/datasets/nope/imports', [], [empty]), 404);
});

test('export: zip and csv downloads, with a dated attachment name and source filters', async () => {
  const date = new Date().toISOString().slice(0, 10);
  const zip = await admin.get(`/v1/datasets/${datasetId}/export?format=zip`);
  assert.equal(zip.status, 200);
  assert.equal(zip.headers.get('content-type'), 'application/zip');
  assert.equal(zip.headers.get('content-disposition'), `attachment; filename="imports demo-${date}.zip"`);
  const names = zipEntryNames(Buffer.from(await zip.arrayBuffer()));
  assert.equal(names.filter((name) => name.endsWith('.png')).length, 4, names.join(', '));

  const csv = await admin.get(`/v1/datasets/${datasetId}/export?format=csv&source=import`);
  assert.equal(csv.status, 200);
  assert.match(csv.headers.get('content-type') ?? '', /^text\/csv/);
  assert.equal(csv.headers.get('content-disposition'), `attachment; filename="imports demo-${date}.csv"`);
  const lines = (await csv.text()).trim().split('\n');
  assert.match(lines[0]!, /item_id/);
  assert.equal(lines.length, 1 + 4);

  const humanOnly = await admin.get(`/v1/datasets/${datasetId}/export?format=jsonl&source=human`);
  assert.equal(humanOnly.status, 200);
  assert.equal((await humanOnly.text()).trim(), '');

  await expectProblem(await admin.get(`/v1/datasets/${datasetId}/export?format=pdf`), 400);
  await expectProblem(await admin.get(`/v1/datasets/${datasetId}/export?source=robot`), 400);
  await expectProblem(await admin.get(`/v1/datasets/${datasetId}/export?minConfidence=2`), 400);
  await expectProblem(await admin.get('/v1/datasets/nope/export'), 404);
});

test('the OpenAPI document and express’s routes match both ways', async () => {
  const document = await expectJson<{
    openapi: string;
    paths: Record<string, Record<string, { responses?: Record<string, unknown>; security?: unknown[] }>>;
    components: { schemas: Record<string, unknown>; securitySchemes: Record<string, { type: string; scheme: string }> };
  }>(await admin.as(undefined).get('/openapi.json'), 200);
  assert.equal(document.openapi, '3.1.0');
  assert.deepEqual(document.components.securitySchemes.bearer, {
    ...document.components.securitySchemes.bearer,
    type: 'http',
    scheme: 'bearer',
  });

  const documented = new Set<string>();
  for (const [path, operations] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      documented.add(`${method.toUpperCase()} ${path}`);
      assert.ok(operation.responses && Object.keys(operation.responses).length > 0, `${method} ${path} has responses`);
      assert.ok(Array.isArray(operation.security), `${method} ${path} states its security`);
    }
  }
  const registered = new Set<string>();
  type Layer = { route?: { path: string; methods: Record<string, boolean> } };
  for (const layer of (stack.app.router as unknown as { stack: Layer[] }).stack) {
    if (!layer.route) continue;
    const path = layer.route.path.replace(/:(\w+)/g, '{$1}');
    for (const [method, on] of Object.entries(layer.route.methods)) if (on) registered.add(`${method.toUpperCase()} ${path}`);
  }
  assert.ok(registered.size >= 19, `found ${registered.size} routes`);
  assert.deepEqual([...registered].sort(), [...documented].sort());

  // Every $ref points at a schema the document has.
  const refs = JSON.stringify(document).match(/"\$ref":"[^"]+"/g) ?? [];
  for (const ref of refs) {
    const name = ref.slice('"$ref":"#/components/schemas/'.length, -1);
    assert.ok(document.components.schemas[name], `missing schema ${ref}`);
  }
});

test('operational endpoints: healthz, readyz, metrics by route template, request ids', async () => {
  const anonymous = admin.as(undefined);
  assert.equal((await anonymous.get('/healthz')).status, 200);
  const ready = await expectJson<{ status: string }>(await anonymous.get('/readyz'), 200);
  assert.equal(ready.status, 'ready');

  const echoed = await admin.get(`/v1/datasets/${datasetId}`, { 'x-request-id': 'trace-me-42' });
  assert.equal(echoed.headers.get('x-request-id'), 'trace-me-42');
  // …and it reached the dataset service in the gRPC call's metadata.
  assert.ok(stack.datasetCalls('GetDataset', 'trace-me-42') === 1, 'the dataset server saw the request id');
  assert.match((await admin.get('/v1/datasets')).headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);

  const metrics = await (await anonymous.get('/metrics')).text();
  assert.match(metrics, /labelloop_http_requests_total\{[^}]*method="GET",route="\/v1\/datasets\/\{id\}",status="200"/);
  assert.match(metrics, /labelloop_http_request_duration_seconds_bucket\{[^}]*route="\/v1\/datasets\/\{id\}"/);
  assert.ok(!metrics.includes(datasetId), 'raw paths are not labels');
});

test('with the dataset server stopped: /readyz 503, API calls 503 with Retry-After', async () => {
  await stack.stopDataset();
  const notReady = await expectProblem(await admin.as(undefined).get('/readyz'), 503);
  assert.ok(notReady.errors?.some((e) => e.code === 'dataset_not_serving'));
  const call = await admin.get('/v1/datasets');
  assert.equal(call.headers.get('retry-after'), '5');
  await expectProblem(call, 503);
  assert.equal((await admin.as(undefined).get('/healthz')).status, 200, 'still alive');
});
