// Auth, datasets, uploads and labelling through the real gateway and a real dataset server.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mnistPng } from '@labelloop/testing';
import { Client, expectJson, expectProblem, type FilePart } from './support/http.js';
import { pixelBombPng, truncated } from './support/images.js';
import { startStack, type Stack } from './support/stack.js';

interface Item {
  id: string;
  sha256: string;
  fileName: string;
  status: string;
  labelVersion: number;
  label: { value: string; source: string; actor: string } | null;
}
interface UploadResponse {
  results: Array<{ fileName: string; outcome: string; item?: Item; error?: { code: string; reason: string } }>;
  created: number;
  duplicates: number;
  rejected: number;
}

let stack: Stack;
let admin: Client;
let labeller: Client;
let viewer: Client;
let datasetId: string;

before(async () => {
  stack = await startStack();
  admin = new Client(stack.baseUrl, stack.adminKey);
  const key = async (name: string, role: string) =>
    (await expectJson<{ key: string }>(await admin.send('POST', '/v1/api-keys', { name, role }), 201)).key;
  labeller = admin.as(await key('lena', 'labeller'));
  viewer = admin.as(await key('victor', 'viewer'));
  const classes = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
  const created = await admin.send('POST', '/v1/datasets', { name: 'digits', classes });
  const dataset = await expectJson<{ id: string }>(created, 201);
  assert.equal(created.headers.get('location'), `/v1/datasets/${dataset.id}`);
  datasetId = dataset.id;
});
after(() => stack?.close());

async function totalItems(): Promise<number> {
  const dataset = await expectJson<{ statistics: { totalItems: number } }>(await viewer.get(`/v1/datasets/${datasetId}`), 200);
  return dataset.statistics.totalItems;
}

async function storedObjects(): Promise<number> {
  let n = 0;
  for await (const _ of stack.blobs.list(`datasets/${datasetId}/`)) n++;
  return n;
}

test('401 without a key or with an unknown one, with a Bearer challenge', async () => {
  const anonymous = admin.as(undefined);
  const missing = await anonymous.get('/v1/datasets');
  assert.match(missing.headers.get('www-authenticate') ?? '', /^Bearer/);
  await expectProblem(missing, 401);
  const unknown = await admin.as('llk_not-a-real-key').get('/v1/datasets');
  assert.match(unknown.headers.get('www-authenticate') ?? '', /^Bearer/);
  await expectProblem(unknown, 401);
});

test('a revoked key gets 401 at once', async () => {
  const created = await expectJson<{ id: string; key: string }>(
    await admin.send('POST', '/v1/api-keys', { name: 'temp', role: 'viewer' }),
    201,
  );
  const temp = admin.as(created.key);
  await expectJson(await temp.get('/v1/datasets'), 200);
  await expectJson(await admin.fetch(`/v1/api-keys/${created.id}`, { method: 'DELETE' }), 200);
  await expectProblem(await temp.get('/v1/datasets'), 401);
  const list = await expectJson<{ apiKeys: Array<Record<string, unknown>> }>(await admin.get('/v1/api-keys'), 200);
  assert.ok(list.apiKeys.some((k) => k.id === created.id && k.revokedAt !== null));
  const text = JSON.stringify(list);
  assert.ok(!text.includes(created.key) && !text.includes('hash'), 'no secrets in the list');
});

test('roles: a viewer reads but cannot label or create; a labeller cannot create datasets or keys', async () => {
  await expectJson(await viewer.get('/v1/datasets'), 200);
  const problem = await expectProblem(await viewer.send('PUT', '/v1/items/whatever/label', { label: '1' }), 403);
  assert.match(problem.detail, /labeller/);
  await expectProblem(await viewer.postForm(`/v1/datasets/${datasetId}/items`, [], []), 403);
  await expectProblem(await labeller.send('POST', '/v1/datasets', { name: 'x', classes: ['a'] }), 403);
  await expectProblem(await labeller.send('POST', '/v1/api-keys', { name: 'x', role: 'admin' }), 403);
});

test('bad JSON bodies: invalid fields 400, malformed 400, wrong type 415, too big 413, unknown route 404', async () => {
  const invalid = await expectProblem(await admin.send('POST', '/v1/datasets', { name: '', classes: 'cat' }), 400);
  assert.deepEqual(invalid.errors?.map((e) => e.path).sort(), ['body.classes', 'body.name']);
  await expectProblem(
    await admin.fetch('/v1/datasets', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":' }),
    400,
  );
  await expectProblem(await admin.fetch('/v1/datasets', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hi' }), 415);
  const big = { name: 'big', classes: Array.from({ length: 3000 }, (_, i) => `class-${i}`) };
  await expectProblem(await admin.send('POST', '/v1/datasets', big), 413);
  await expectProblem(await admin.get('/v1/nothing-here'), 404);
  await expectProblem(await viewer.get('/v1/datasets/no-such-dataset'), 404);
  const query = await expectProblem(await viewer.get(`/v1/datasets/${datasetId}/items?status=maybe&limit=0`), 400);
  assert.deepEqual(query.errors?.map((e) => e.path).sort(), ['query.limit', 'query.status']);
});

test('every kind of bad file is a 400 problem naming it, and nothing is stored', async () => {
  const png = await mnistPng('test', 0);
  const bad: Array<FilePart & { code: string }> = [
    { name: 'empty.png', content: Buffer.alloc(0), code: 'empty_file' },
    { name: 'notes.txt', content: Buffer.from('these are not the pixels you are looking for\n'), type: 'text/plain', code: 'not_an_image' },
    { name: 'cut.png', content: truncated(png), code: 'corrupt_image' },
    { name: 'huge.png', content: Buffer.alloc(100 * 1024, 7), code: 'too_large' },
    { name: 'bomb.png', content: pixelBombPng(), code: 'too_many_pixels' },
  ];
  for (const file of bad) {
    const problem = await expectProblem(await labeller.postForm(`/v1/datasets/${datasetId}/items`, [], [file]), 400);
    assert.equal(problem.errors?.length, 1);
    assert.equal(problem.errors![0]!.fileName, file.name);
    assert.equal(problem.errors![0]!.code, file.code, `${file.name}: ${problem.errors![0]!.reason}`);
    assert.ok(problem.errors![0]!.reason.length > 0);
  }
  const all = await expectProblem(await labeller.postForm(`/v1/datasets/${datasetId}/items`, [], bad), 400);
  assert.deepEqual(all.errors?.map((e) => e.fileName), bad.map((f) => f.name));
  assert.equal(await totalItems(), 0);
  assert.equal(await storedObjects(), 0, 'no image object stored');

  await expectProblem(await labeller.postForm(`/v1/datasets/${datasetId}/items`, [['label', '3']], []), 400);
  await expectProblem(
    await labeller.send('POST', `/v1/datasets/${datasetId}/items`, {}),
    415,
  );
  const tooMany = Array.from({ length: 9 }, (_, i) => ({ name: `x${i}.txt`, content: Buffer.from('x'), type: 'text/plain' }));
  await expectProblem(await labeller.postForm(`/v1/datasets/${datasetId}/items`, [], tooMany), 413);
  assert.equal(await totalItems(), 0);
});

test('every file of a large batch reaches the dataset service with the request id', async () => {
  // ~480 KiB: later parts arrive in socket callbacks after the handler started.
  const files = Array.from({ length: 8 }, (_, i) => ({
    name: `noise-${i}.png`,
    content: Buffer.alloc(60 * 1024, i + 1),
  }));
  const problem = await expectProblem(
    await labeller.postForm(`/v1/datasets/${datasetId}/items`, [], files, { 'x-request-id': 'large-batch-1' }),
    400,
  );
  assert.deepEqual(problem.errors?.map((e) => e.fileName), files.map((f) => f.name));
  // One stream carries them all, tagged with the request id.
  assert.equal(stack.datasetCalls('UploadItems', 'large-batch-1'), 1);
  assert.equal(stack.datasetCalls('UploadItem', 'large-batch-1'), 0);
});

test('a label that is not a class, or sent after the files, is refused before anything is stored', async () => {
  const png = await mnistPng('test', 1);
  const unknown = await expectProblem(
    await labeller.postForm(`/v1/datasets/${datasetId}/items`, [['label', 'cat']], [{ name: 'a.png', content: png }]),
    400,
  );
  assert.match(unknown.detail, /'cat' is not a class/);
  assert.deepEqual(unknown.errors?.map((e) => [e.path, e.code]), [['body.label', 'unknown_class']]);
  // A missing dataset is a 404, with files or without.
  await expectProblem(await labeller.postForm('/v1/datasets/no-such-dataset/items', [], [{ name: 'a.png', content: png }]), 404);
  await expectProblem(await labeller.postForm('/v1/datasets/no-such-dataset/items', [['label', '1']], []), 404);
  const before = await totalItems();
  const form = new FormData();
  form.append('file', new Blob([png], { type: 'image/png' }), 'a.png');
  form.append('label', '2');
  const late = await expectProblem(await labeller.fetch(`/v1/datasets/${datasetId}/items`, { method: 'POST', body: form }), 400);
  assert.match(late.detail, /before the file parts/);
  // A file whose upload had already begun is stored (unlabelled); the problem lists it.
  const stored = ((late.results ?? []) as Array<{ outcome: string }>).filter((r) => r.outcome === 'created');
  assert.equal(await totalItems(), before + stored.length);
});

test('upload, duplicate, and a mixed batch with a label, results in order', async () => {
  const [a, b, c] = await Promise.all([mnistPng('test', 10), mnistPng('test', 11), mnistPng('test', 12)]);
  const first = await expectJson<UploadResponse>(
    await labeller.postForm(`/v1/datasets/${datasetId}/items`, [], [{ name: 'a.png', content: a }], {
      'x-request-id': 'upload-request-1',
    }),
    201,
  );
  assert.ok(stack.datasetCalls('UploadItems', 'upload-request-1') === 1, 'the request id went along');
  assert.equal(first.created, 1);
  const original = first.results[0]!.item!;
  assert.equal(original.status, 'unlabelled');

  const again = await expectJson<UploadResponse>(
    await labeller.postForm(`/v1/datasets/${datasetId}/items`, [], [{ name: 'a-copy.png', content: a }]),
    200,
  );
  assert.deepEqual([again.created, again.duplicates, again.rejected], [0, 1, 0]);
  assert.equal(again.results[0]!.item!.id, original.id);

  const before = await totalItems();
  const mixed = await expectJson<UploadResponse>(
    await labeller.postForm(
      `/v1/datasets/${datasetId}/items`,
      [['label', '7']],
      [
        { name: 'b.png', content: b },
        { name: 'readme.txt', content: Buffer.from('hello'), type: 'text/plain' },
        { name: 'a-again.png', content: a },
        { name: 'big.png', content: Buffer.alloc(70 * 1024, 1) },
        { name: 'c.png', content: c },
      ],
      { 'x-request-id': 'mixed-batch-1' },
    ),
    201,
  );
  // One stream reached the dataset service (big.png stopped here), with the request id.
  assert.equal(stack.datasetCalls('UploadItems', 'mixed-batch-1'), 1);
  assert.deepEqual(
    mixed.results.map((r) => [r.fileName, r.outcome, r.error?.code]),
    [
      ['b.png', 'created', undefined],
      ['readme.txt', 'rejected', 'not_an_image'],
      ['a-again.png', 'duplicate', undefined],
      ['big.png', 'rejected', 'too_large'],
      ['c.png', 'created', undefined],
    ],
  );
  assert.deepEqual([mixed.created, mixed.duplicates, mixed.rejected], [2, 1, 2]);
  const labelled = mixed.results[0]!.item!;
  assert.equal(labelled.label?.value, '7');
  assert.equal(labelled.label?.source, 'human');
  assert.equal(labelled.label?.actor, 'lena');
  assert.equal(await totalItems(), before + 2);

  const page = await expectJson<{ items: Item[]; nextCursor: string | null }>(
    await viewer.get(`/v1/datasets/${datasetId}/items?status=labelled&label=7&source=human&limit=10`),
    200,
  );
  // Uploading a duplicate with a label labels the existing item.
  const sevens = [0, 2, 4].map((i) => mixed.results[i]!.item!.id);
  assert.deepEqual(page.items.map((i) => i.id).sort(), sevens.sort());
  assert.equal(page.nextCursor, null);
  const paged = await expectJson<{ items: Item[]; nextCursor: string | null }>(
    await viewer.get(`/v1/datasets/${datasetId}/items?limit=1`),
    200,
  );
  assert.equal(paged.items.length, 1);
  assert.ok(paged.nextCursor);

  const image = await viewer.get(`/v1/items/${original.id}/image`);
  assert.equal(image.status, 200);
  assert.equal(image.headers.get('content-type'), 'image/png');
  assert.equal(image.headers.get('etag'), `"${original.sha256}"`);
  assert.match(image.headers.get('cache-control') ?? '', /private.*immutable/);
  assert.deepEqual(Buffer.from(await image.arrayBuffer()), a);
  const cached = await viewer.get(`/v1/items/${original.id}/image`, { 'if-none-match': `"${original.sha256}"` });
  assert.equal(cached.status, 304);
});

test('labelling: the actor is the key name, a stale expectedVersion is a 409', async () => {
  const png = await mnistPng('test', 20);
  const upload = await expectJson<UploadResponse>(
    await labeller.postForm(`/v1/datasets/${datasetId}/items`, [], [{ name: 'd.png', content: png }]),
    201,
  );
  const item = upload.results[0]!.item!;
  assert.equal(item.labelVersion, 0);
  const labelled = await expectJson<Item>(
    await labeller.send('PUT', `/v1/items/${item.id}/label`, { label: '4', expectedVersion: 0 }),
    200,
  );
  assert.equal(labelled.labelVersion, 1);
  assert.deepEqual(labelled.label && [labelled.label.value, labelled.label.source, labelled.label.actor], ['4', 'human', 'lena']);

  const stale = await expectProblem(await admin.send('PUT', `/v1/items/${item.id}/label`, { label: '9', expectedVersion: 0 }), 409);
  assert.ok(stale.detail.length > 0);
  await expectJson(await admin.send('PUT', `/v1/items/${item.id}/label`, { label: '9', expectedVersion: 1 }), 200);
  await expectProblem(await labeller.send('PUT', `/v1/items/${item.id}/label`, { label: 'nine' }), 400);
  await expectProblem(await labeller.send('PUT', `/v1/items/${item.id}/label`, { label: '1', extra: true }), 400);

  const history = await expectJson<{ events: Array<{ value: string; actor: string; version: number }> }>(
    await viewer.get(`/v1/items/${item.id}/labels`),
    200,
  );
  assert.deepEqual(
    history.events.map((e) => [e.value, e.actor, e.version]),
    [
      ['4', 'lena', 1],
      ['9', 'admin', 2],
    ],
  );
  const fetched = await expectJson<Item>(await viewer.get(`/v1/items/${item.id}`), 200);
  assert.equal(fetched.label?.value, '9');
});
