import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { commonV1, datasetV1 } from '@labelloop/proto';
import { contentAddressedKey } from '@labelloop/storage';
import { Status } from 'nice-grpc';
import { datasetEvents, EventLog } from './support/events.js';
import { DIGITS, digits, expectStatus, sha256 } from './support/fixtures.js';
import { startHarness, uniqueName, type Harness } from './support/harness.js';

// Datasets and uploads against a real server: PGlite or PostgreSQL, s3rver, nats-server.

let h: Harness;
let events: EventLog;
before(async () => {
  h = await startHarness();
  events = await EventLog.start(h);
});
after(async () => {
  await events?.close();
  await h?.close();
});

async function newDataset(classes = DIGITS) {
  const { dataset } = await h.client.createDataset({ name: uniqueName('ds'), classes });
  return dataset!;
}

async function itemRows(sha: string): Promise<number> {
  const { rows } = await h.db.query<{ n: number }>('SELECT count(*)::int AS n FROM dataset.items WHERE sha256 = $1', [
    sha,
  ]);
  return rows[0]!.n;
}

test('creates a dataset with defaults, gets it with statistics and lists datasets page by page', async () => {
  const created = await newDataset(['cat', 'dog']);
  assert.deepEqual(created.classes, ['cat', 'dog']);
  assert.deepEqual(created.image, { width: 28, height: 28, channels: 1 });
  assert.deepEqual(created.splits, { train: 0.7, validation: 0.15, test: 0.15 });
  assert.ok(created.createdAt instanceof Date);

  const custom = await h.client.createDataset({
    name: uniqueName('rgb'),
    classes: ['a'],
    image: { width: 227, height: 227, channels: 3 },
    splits: { train: 0.8, validation: 0.2, test: 0 },
  });
  assert.deepEqual(custom.dataset!.image, { width: 227, height: 227, channels: 3 });
  assert.deepEqual(custom.dataset!.splits, { train: 0.8, validation: 0.2, test: 0 });

  const got = await h.client.getDataset({ datasetId: created.id });
  assert.equal(got.dataset!.name, created.name);
  assert.deepEqual(got.statistics, {
    totalItems: 0,
    byStatus: { unlabelled: 0, labelled: 0, excluded: 0 },
    bySplit: { train: 0, validation: 0, test: 0, unassigned: 0 },
    byClass: { cat: 0, dog: 0 },
    bySource: { human: 0, model: 0, import: 0 },
  });

  await expectStatus(h.client.createDataset({ name: created.name, classes: ['x'] }), Status.ALREADY_EXISTS);
  await expectStatus(h.client.getDataset({ datasetId: '00000000-0000-4000-8000-000000000000' }), Status.NOT_FOUND);
  await expectStatus(h.client.getDataset({ datasetId: 'not-a-uuid' }), Status.NOT_FOUND);

  const seen: string[] = [];
  let cursor = '';
  do {
    const page = await h.client.listDatasets({ limit: 1, cursor });
    assert.ok(page.datasets.length <= 1);
    seen.push(...page.datasets.map((d) => d.id));
    cursor = page.nextCursor;
  } while (cursor !== '');
  assert.ok(seen.includes(created.id) && seen.includes(custom.dataset!.id));
  assert.equal(new Set(seen).size, seen.length, 'no dataset twice');
  await expectStatus(h.client.listDatasets({ limit: 1001 }), Status.INVALID_ARGUMENT);
});

test('refuses invalid datasets with INVALID_ARGUMENT', async () => {
  const ok = { name: uniqueName('bad'), classes: ['a', 'b'] };
  const invalid: Array<Parameters<typeof h.client.createDataset>[0]> = [
    { ...ok, name: '' },
    { ...ok, name: 'a/b' },
    { ...ok, name: 'tab\there' },
    { ...ok, name: 'x'.repeat(101) },
    { ...ok, classes: [] },
    { ...ok, classes: ['a', 'a'] },
    { ...ok, classes: ['a', ''] },
    { ...ok, classes: ['..'] },
    { ...ok, classes: ['.'] },
    { ...ok, classes: ['a/b'] },
    { ...ok, classes: ['a\\b'] },
    { ...ok, classes: ['new\nline'] },
    { ...ok, classes: ['c'.repeat(101)] },
    { ...ok, classes: Array.from({ length: 1001 }, (_, i) => `c${i}`) },
    { ...ok, image: { width: 0, height: 28, channels: 1 } },
    { ...ok, image: { width: 28, height: 4097, channels: 1 } },
    { ...ok, image: { width: 28, height: 28, channels: 2 } },
    { ...ok, splits: { train: 0.5, validation: 0.2, test: 0.2 } },
    { ...ok, splits: { train: 0, validation: 0.5, test: 0.5 } },
    { ...ok, splits: { train: 1.2, validation: -0.1, test: -0.1 } },
  ];
  for (const request of invalid) {
    await expectStatus(h.client.createDataset(request), Status.INVALID_ARGUMENT);
  }
  assert.equal(
    (await h.db.query('SELECT 1 FROM dataset.datasets WHERE name = $1', [ok.name])).rowCount,
    0,
    'nothing was created',
  );
  // 100 characters and unicode are fine.
  const long = await h.client.createDataset({ name: `${'é'.repeat(90)}${uniqueName('').slice(-10)}`, classes: ['ok'] });
  assert.equal([...long.dataset!.name].length, 100);
});

test('upload: created, then duplicate (labelling an unlabelled item), with the object in S3', async () => {
  const dataset = await newDataset();
  const [digit] = await digits(0, 1);
  const first = await h.client.uploadItem({
    datasetId: dataset.id,
    fileName: 'zero.png',
    content: digit!.png,
    label: '',
    actor: '',
  });
  assert.equal(first.outcome, datasetV1.UploadOutcome.UPLOAD_OUTCOME_CREATED);
  const item = first.item!;
  assert.equal(item.sha256, digit!.sha256);
  assert.equal(item.fileName, 'zero.png');
  assert.deepEqual([item.width, item.height, item.format, item.sizeBytes], [28, 28, 'png', digit!.png.length]);
  assert.equal(item.status, datasetV1.ItemStatus.ITEM_STATUS_UNLABELLED);
  assert.equal(item.labelVersion, 0);
  assert.equal(item.split, commonV1.Split.SPLIT_UNSPECIFIED);
  const info = await h.s3.store.head(contentAddressedKey(dataset.id, digit!.sha256));
  assert.equal(info?.size, digit!.png.length);

  const again = await h.client.uploadItem({
    datasetId: dataset.id,
    fileName: 'copy.png',
    content: digit!.png,
    label: digit!.label,
    actor: 'ann',
  });
  assert.equal(again.outcome, datasetV1.UploadOutcome.UPLOAD_OUTCOME_DUPLICATE);
  assert.equal(again.item!.id, item.id);
  assert.equal(again.item!.label?.value, digit!.label);
  assert.equal(again.item!.label?.actor, 'ann');
  assert.equal(again.item!.labelVersion, 1);

  // A duplicate never overwrites an existing label.
  const third = await h.client.uploadItem({
    datasetId: dataset.id,
    fileName: 'x.png',
    content: digit!.png,
    label: '9',
    actor: 'bob',
  });
  assert.equal(third.outcome, datasetV1.UploadOutcome.UPLOAD_OUTCOME_DUPLICATE);
  assert.equal(third.item!.label?.value, digit!.label);
  assert.equal(third.item!.labelVersion, 1);
  assert.equal(await itemRows(digit!.sha256), 1);

  const image = await h.client.getItemImage({ itemId: item.id });
  assert.ok(Buffer.from(image.content).equals(digit!.png));
  assert.equal(image.contentType, 'image/png');
  assert.equal(image.sha256, digit!.sha256);
  await expectStatus(h.client.getItem({ itemId: '00000000-0000-4000-8000-000000000000' }), Status.NOT_FOUND);
});

test('upload: a rejected file leaves no row and no object; a bad label is an error', async () => {
  const dataset = await newDataset();
  const [digit] = await digits(1, 1);
  const rejects: Array<[Buffer, string]> = [
    [Buffer.from('just some text, not an image'), 'not_an_image'],
    [digit!.png.subarray(0, digit!.png.length - 30), 'corrupt_image'],
    [Buffer.alloc(0), 'empty_file'],
  ];
  for (const [content, code] of rejects) {
    const result = await h.client.uploadItem({
      datasetId: dataset.id,
      fileName: 'bad.png',
      content,
      label: '',
      actor: '',
    });
    assert.equal(result.outcome, datasetV1.UploadOutcome.UPLOAD_OUTCOME_REJECTED);
    assert.equal(result.item, undefined);
    assert.equal(result.error?.code, code);
    assert.equal(result.error?.fileName, 'bad.png');
    assert.ok(result.error!.reason.length > 0);
    const sha = sha256(content);
    assert.equal(await itemRows(sha), 0);
    assert.equal(await h.s3.store.head(contentAddressedKey(dataset.id, sha)), undefined);
  }
  const err = await expectStatus(
    h.client.uploadItem({ datasetId: dataset.id, fileName: 'a.png', content: digit!.png, label: 'cat', actor: '' }),
    Status.INVALID_ARGUMENT,
  );
  assert.match(err.details, /allowed: 0, 1, 2/);
  assert.equal(await itemRows(digit!.sha256), 0);
  assert.equal(await h.s3.store.head(contentAddressedKey(dataset.id, digit!.sha256)), undefined);
  await expectStatus(
    h.client.uploadItem({
      datasetId: '00000000-0000-4000-8000-000000000000',
      fileName: 'a.png',
      content: digit!.png,
      label: '',
      actor: '',
    }),
    Status.NOT_FOUND,
  );
});

test('upload: when the insert fails after the S3 put, the object is removed again', async () => {
  const dataset = await newDataset();
  const [digit] = await digits(2, 1);
  // A real database failure on insert: a trigger that refuses this one file name.
  await h.db.query(`CREATE FUNCTION dataset.refuse_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN IF NEW.file_name = 'explode.png' THEN RAISE EXCEPTION 'refused by test trigger'; END IF; RETURN NEW; END $$`);
  await h.db.query(
    `CREATE TRIGGER refuse_insert BEFORE INSERT ON dataset.items FOR EACH ROW EXECUTE FUNCTION dataset.refuse_insert()`,
  );
  try {
    await expectStatus(
      h.client.uploadItem({
        datasetId: dataset.id,
        fileName: 'explode.png',
        content: digit!.png,
        label: '',
        actor: '',
      }),
      Status.INTERNAL,
    );
    assert.equal(await itemRows(digit!.sha256), 0);
    assert.equal(await h.s3.store.head(contentAddressedKey(dataset.id, digit!.sha256)), undefined);
  } finally {
    await h.db.query('DROP TRIGGER refuse_insert ON dataset.items');
    await h.db.query('DROP FUNCTION dataset.refuse_insert()');
  }
  const ok = await h.client.uploadItem({
    datasetId: dataset.id,
    fileName: 'fine.png',
    content: digit!.png,
    label: '',
    actor: '',
  });
  assert.equal(ok.outcome, datasetV1.UploadOutcome.UPLOAD_OUTCOME_CREATED);
});

test(
  'upload: S3 down answers UNAVAILABLE and stores nothing',
  { skip: !process.env.S3_ENDPOINT ? false : 'shared S3' },
  async () => {
    const dataset = await newDataset();
    const [digit] = await digits(3, 1);
    await h.s3.stop();
    try {
      await expectStatus(
        h.client.uploadItem({ datasetId: dataset.id, fileName: 'a.png', content: digit!.png, label: '', actor: '' }),
        Status.UNAVAILABLE,
      );
    } finally {
      await h.s3.start();
    }
    assert.equal(await itemRows(digit!.sha256), 0);
  },
);

test('DatasetCreated, ItemIngested and ItemLabeled arrive on NATS through the outbox', async () => {
  const dataset = await newDataset(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  const [digit] = await digits(4, 1);
  const { item } = await h.client.uploadItem({
    datasetId: dataset.id,
    fileName: 'four.png',
    content: digit!.png,
    label: digit!.label,
    actor: 'ann',
  });
  const relabel = String((Number(digit!.label) + 1) % 10);
  const { item: relabelled } = await h.client.setLabel({
    itemId: item!.id,
    label: relabel,
    source: commonV1.LabelSource.LABEL_SOURCE_HUMAN,
    actor: 'bob',
    modelVersion: '',
  });

  const created = await events.expect(datasetEvents.datasetCreated, (e) => e.datasetId === dataset.id);
  assert.equal(created.name, dataset.name);
  assert.deepEqual(created.classes, dataset.classes);
  assert.ok(created.occurredAt instanceof Date);
  const ingested = await events.expect(datasetEvents.itemIngested, (e) => e.itemId === item!.id);
  assert.equal(ingested.sha256, digit!.sha256);
  assert.equal(ingested.importId, '');
  const first = await events.expect(datasetEvents.itemLabeled, (e) => e.itemId === item!.id && e.version === 1);
  assert.deepEqual(
    [first.label, first.actor, first.previousLabel, first.source],
    [digit!.label, 'ann', '', commonV1.LabelSource.LABEL_SOURCE_HUMAN],
  );
  assert.equal(first.split, item!.split);
  const second = await events.expect(datasetEvents.itemLabeled, (e) => e.itemId === item!.id && e.version === 2);
  assert.deepEqual([second.label, second.previousLabel, second.actor], [relabel, digit!.label, 'bob']);
  assert.equal(second.split, relabelled!.split);
  // Each event once, with distinct ids.
  const labeled = events.all(datasetEvents.itemLabeled).filter((e) => e.itemId === item!.id);
  assert.equal(labeled.length, 2);
  assert.notEqual(labeled[0]!.eventId, labeled[1]!.eventId);

  const metrics = await h.registry.metrics();
  assert.match(metrics, /labelloop_items_ingested_total\{outcome="created",service="dataset"\} [1-9]/);
  assert.match(metrics, /labelloop_items_ingested_total\{outcome="rejected",service="dataset"\} [1-9]/);
  assert.match(metrics, /labelloop_labels_total\{source="human",service="dataset"\} [1-9]/);
});
