import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mnistLabel, mnistPng } from '@labelloop/testing';
import { archiveForm, filesForm } from '../src/api.js';
import { Cluster, describeAccount, expectEvents } from '../src/cluster.js';
import { call, createDataset, uploadDigits } from '../src/drill-helpers.js';
import { buildZip } from '../src/zip.js';

// Fault drill: S3 unreachable. Uploads and imports fail fast with 503 and a message naming object
// storage; nothing is stored for them (no item row without its object, no event); what needs only
// the database (labelling) keeps working; once S3 is back the same upload succeeds.

let cluster: Cluster | undefined;

before(async () => {
  cluster = await Cluster.start({ trainers: 0, inference: 0 });
});
after(async () => {
  await cluster?.close();
});

test('S3 unreachable: uploads answer 503 with a clear message, no row without its object; uploads work again after', { timeout: 300_000 }, async (t) => {
  if (!cluster) return t.skip('no PostgreSQL for the drill (no server binaries, no DATABASE_URL)');
  const c = cluster;
  const datasetId = await createDataset(c.admin, 's3-outage');
  const digits = await uploadDigits(c.admin, datasetId, { from: 0, count: 50 });
  const before = await c.delivered((a) => a.events['labelloop.item.ingested'] === 50);
  t.diagnostic(describeAccount('before', before));

  const files = await Promise.all(Array.from({ length: 20 }, async (_, i) => ({ name: `new-${i}.png`, bytes: await mnistPng('train', 100 + i) })));
  const zip = await buildZip(await Promise.all(Array.from({ length: 10 }, async (_, i): Promise<[string, Buffer]> => [`${mnistLabel('train', 200 + i)}/z${i}.png`, await mnistPng('train', 200 + i)])));

  await c.s3.stop();
  const timed = async <T>(run: () => Promise<T>) => {
    const started = performance.now();
    const value = await run();
    return { value, ms: Math.round(performance.now() - started) };
  };
  const batch = await timed(() => c.admin.post(`/v1/datasets/${datasetId}/items`, filesForm(files)));
  const single = await timed(() => c.admin.post(`/v1/datasets/${datasetId}/items`, filesForm(files.slice(0, 1))));
  const imported = await timed(() => c.admin.post(`/v1/datasets/${datasetId}/imports`, archiveForm(zip)));
  const image = await timed(() => c.admin.get(`/v1/items/${digits[0]!.id}/image`));
  // Labels live in the database only: labelling goes on.
  const label = await call(c.gatewayUrl, c.admin.key!, 'PUT', `/v1/items/${digits[1]!.id}/label`, { label: digits[1]!.label });
  for (const [what, r] of Object.entries({ batch, single, imported, image })) {
    t.diagnostic(`S3 down, ${what}: ${r.value.status} in ${r.ms} ms — ${JSON.stringify(r.value.body).slice(0, 300)}`);
  }
  for (const [what, r] of Object.entries({ batch, single, imported, image })) {
    assert.equal(r.value.status, 503, `${what} answers 503`);
    assert.match(r.value.headers.get('content-type') ?? '', /application\/problem\+json/);
    assert.match(JSON.stringify(r.value.body), /object storage/i, `${what} says object storage is unavailable`);
    assert.ok(r.ms < 15_000, `${what} answered in ${r.ms} ms`);
  }
  assert.equal(label.status, 200, JSON.stringify(label.body));

  // Nothing of the refused uploads and import reached the database.
  const itemsDuring = await c.count('SELECT count(*) AS n FROM dataset.items');
  const importsDuring = await c.count('SELECT count(*) AS n FROM dataset.imports');
  t.diagnostic(`S3 down: ${itemsDuring} item rows, ${importsDuring} imports`);
  assert.equal(itemsDuring, before.items);
  assert.equal(importsDuring, 0);

  await c.s3.start();
  const retried = await c.admin.post(`/v1/datasets/${datasetId}/items`, filesForm(files));
  assert.equal(retried.status, 201, JSON.stringify(retried.body).slice(0, 300));
  assert.equal(retried.body.created, 20);
  const after = await c.delivered((a) => a.events['labelloop.item.ingested'] === 70);
  const expected = {
    ...before,
    items: before.items + 20,
    objects: before.objects + 20,
    labels: before.labels + 1,
    labelHistory: before.labelHistory + 1,
    events: expectEvents(before.events, { 'item.ingested': 20, 'item.labeled': 1 }),
  };
  t.diagnostic(describeAccount('expected', expected));
  t.diagnostic(describeAccount('after', after));
  assert.deepEqual(after, expected);
  assert.equal(after.itemsWithoutObject, 0, 'no item row without its object');
  assert.deepEqual(c.unexpectedExits(), [], 'no service crashed');
});
