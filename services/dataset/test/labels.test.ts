import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { commonV1, datasetV1 } from '@labelloop/proto';
import { Status } from 'nice-grpc';
import { DIGITS, digits, expectStatus, mapLimit, shuffled } from './support/fixtures.js';
import { startHarness, uniqueName, type Harness } from './support/harness.js';

// Labels, their history, optimistic concurrency and stratified splits.

const { LABEL_SOURCE_HUMAN: HUMAN, LABEL_SOURCE_MODEL: MODEL } = commonV1.LabelSource;
const { SPLIT_TRAIN: TRAIN, SPLIT_VALIDATION: VALIDATION, SPLIT_TEST: TEST } = commonV1.Split;

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

async function datasetWithItems(count: number, from: number) {
  const { dataset } = await h.client.createDataset({ name: uniqueName('labels'), classes: DIGITS });
  const images = await digits(from, count);
  const items = await mapLimit(images, 8, async (digit) => {
    const { item } = await h.client.uploadItem({
      datasetId: dataset!.id,
      fileName: `${digit.index}.png`,
      content: digit.png,
      label: '',
      actor: '',
    });
    return { item: item!, digit };
  });
  return { dataset: dataset!, items };
}

function label(itemId: string, value: string, extra: Partial<Parameters<typeof h.client.setLabel>[0]> = {}) {
  return h.client.setLabel({ itemId, label: value, source: HUMAN, actor: 'ann', modelVersion: '', ...extra });
}

test('labels keep their history; the same label again is a no-op; a stale expected_version is ABORTED', async () => {
  const { items } = await datasetWithItems(1, 100);
  const id = items[0]!.item.id;

  const v1 = await label(id, '1', { expectedVersion: 0 });
  assert.equal(v1.item!.labelVersion, 1);
  assert.equal(v1.item!.status, datasetV1.ItemStatus.ITEM_STATUS_LABELLED);
  assert.notEqual(v1.item!.split, commonV1.Split.SPLIT_UNSPECIFIED);
  const same = await label(id, '1', { actor: 'bob' });
  assert.equal(same.item!.labelVersion, 1, 'same label and source: no new version');
  assert.equal(same.item!.label!.actor, 'ann');

  const v2 = await label(id, '2', { expectedVersion: 1 });
  assert.equal(v2.item!.labelVersion, 2);
  const stale = await expectStatus(label(id, '3', { expectedVersion: 1 }), Status.ABORTED);
  assert.match(stale.details, /version 2/);
  await expectStatus(label(id, 'cat'), Status.INVALID_ARGUMENT);
  await expectStatus(label(id, ''), Status.INVALID_ARGUMENT);
  await expectStatus(
    label(id, '3', { source: commonV1.LabelSource.LABEL_SOURCE_UNSPECIFIED }),
    Status.INVALID_ARGUMENT,
  );
  await expectStatus(label(id, '3', { source: MODEL, confidence: 1.5 }), Status.INVALID_ARGUMENT);
  await expectStatus(label('00000000-0000-4000-8000-000000000000', '3'), Status.NOT_FOUND);

  const v3 = await label(id, '7', { source: MODEL, actor: '', modelVersion: 'm-1', confidence: 0.93 });
  assert.equal(v3.item!.labelVersion, 3);
  assert.equal(v3.item!.label!.actor, 'm-1', 'a model label is attributed to its model version');
  assert.equal(v3.item!.label!.confidence, 0.93);
  // A model label never puts an item in validation (a test item stays where it is).
  assert.ok(v3.item!.split === TRAIN || (v2.item!.split === TEST && v3.item!.split === TEST));

  const { events } = await h.client.listLabelHistory({ itemId: id });
  assert.deepEqual(
    events.map((e) => [e.value, e.version, e.source, e.actor, e.confidence ?? null, e.modelVersion]),
    [
      ['1', 1, HUMAN, 'ann', null, ''],
      ['2', 2, HUMAN, 'ann', null, ''],
      ['7', 3, MODEL, 'm-1', 0.93, 'm-1'],
    ],
  );
  const got = await h.client.getItem({ itemId: id });
  assert.equal(got.item!.label!.value, '7');
});

test('stratified splits: 200 items labelled concurrently in random order stay within ±1 per class', async () => {
  const { dataset, items } = await datasetWithItems(200, 1000);
  const order = shuffled(items, 20240607);
  await mapLimit(order, 8, ({ item, digit }) => label(item.id, digit.label));

  const perClass = await splitCounts(dataset.id);
  for (const [name, counts] of Object.entries(perClass)) {
    const n = counts.train + counts.validation + counts.test;
    for (const [split, ratio] of [
      ['train', 0.7],
      ['validation', 0.15],
      ['test', 0.15],
    ] as const) {
      assert.ok(Math.abs(counts[split] - ratio * n) <= 1, `class ${name}: ${split} has ${counts[split]} of ${n}`);
    }
  }
  await assertCountersMatchItems(dataset.id);

  const { statistics } = await h.client.getDataset({ datasetId: dataset.id });
  assert.equal(statistics!.totalItems, 200);
  assert.equal(statistics!.byStatus.labelled, 200);
  assert.equal(statistics!.bySource.human, 200);
  assert.equal(statistics!.bySplit.unassigned, 0);
  assert.equal(
    Object.values(statistics!.byClass).reduce((a, b) => a + b, 0),
    200,
  );

  // Relabelling: test items never move; train/validation items are re-stratified in the new class.
  const before = new Map((await listAll(dataset.id)).map((item) => [item.id, item]));
  const relabelled = order.slice(0, 60);
  await mapLimit(relabelled, 8, ({ item, digit }) => label(item.id, String((Number(digit.label) + 1) % 10)));
  for (const { item } of relabelled) {
    const now = (await h.client.getItem({ itemId: item.id })).item!;
    if (before.get(item.id)!.split === TEST) assert.equal(now.split, TEST, 'a test item never moves');
    assert.equal(now.labelVersion, 2);
  }
  await assertCountersMatchItems(dataset.id);

  // A model label goes to train only, and is not counted for stratification.
  const unlabelledDs = await datasetWithItems(5, 2000);
  for (const { item } of unlabelledDs.items) {
    const { item: modelled } = await label(item.id, '4', { source: MODEL, modelVersion: 'm-2', confidence: 0.5 });
    assert.equal(modelled!.split, TRAIN);
  }
  assert.deepEqual((await splitCounts(unlabelledDs.dataset.id))['4'] ?? { train: 0, validation: 0, test: 0 }, {
    train: 0,
    validation: 0,
    test: 0,
  });
  // A human confirming a model label makes it ground truth: stratified like any other.
  const confirmed = await label(unlabelledDs.items[0]!.item.id, '4');
  assert.equal(confirmed.item!.label!.source, HUMAN);
  assert.equal(confirmed.item!.split, TRAIN, 'the first trusted item of a class: train has the largest deficit');
  assert.deepEqual((await splitCounts(unlabelledDs.dataset.id))['4'], { train: 1, validation: 0, test: 0 });
  await assertCountersMatchItems(unlabelledDs.dataset.id);
});

test('listing: filters, keyset pagination, forged cursors and limits', async () => {
  const { dataset, items } = await datasetWithItems(30, 3000);
  for (const { item, digit } of items.slice(0, 10)) await label(item.id, digit.label);
  for (const { item } of items.slice(10, 20))
    await label(item.id, '5', { source: MODEL, modelVersion: 'm', confidence: 0.6 });

  const count = async (filter: Partial<Parameters<typeof h.client.listItems>[0]>) =>
    (await h.client.listItems({ datasetId: dataset.id, limit: 1000, ...filter })).items.length;
  assert.equal(await count({}), 30);
  assert.equal(await count({ status: datasetV1.ItemStatus.ITEM_STATUS_UNLABELLED }), 10);
  assert.equal(await count({ status: datasetV1.ItemStatus.ITEM_STATUS_LABELLED }), 20);
  assert.equal(await count({ source: MODEL }), 10);
  assert.equal(await count({ source: HUMAN }), 10);
  assert.ok((await count({ label: '5' })) >= 10);
  assert.ok((await count({ split: TRAIN })) >= 10);
  assert.equal(
    (await count({ split: TRAIN })) + (await count({ split: VALIDATION })) + (await count({ split: TEST })),
    20,
  );
  assert.equal(await count({ label: '5', source: MODEL, split: TRAIN }), 10);

  const seen: string[] = [];
  let cursor = '';
  let pages = 0;
  do {
    const page = await h.client.listItems({ datasetId: dataset.id, limit: 7, cursor });
    assert.ok(page.items.length <= 7);
    seen.push(...page.items.map((i) => i.id));
    cursor = page.nextCursor;
    pages += 1;
  } while (cursor !== '');
  assert.equal(pages, 5);
  assert.deepEqual(
    seen,
    items.map((i) => i.item.id).sort((a, b) => seen.indexOf(a) - seen.indexOf(b)),
  );
  assert.equal(new Set(seen).size, 30);
  assert.deepEqual(new Set(seen), new Set(items.map((i) => i.item.id)));

  const forged = [
    'not a cursor!',
    Buffer.from('{"v":1,"after":"1 OR 1=1"}').toString('base64url'),
    Buffer.from('{"v":2,"after":1}').toString('base64url'),
    Buffer.from('{"v":1,"after":-5}').toString('base64url'),
    Buffer.from('{"v":1,"after":1,"extra":true}').toString('base64url'),
    Buffer.from('[1]').toString('base64url'),
    Buffer.from('garbage').toString('base64url'),
  ];
  for (const bad of forged) {
    await expectStatus(h.client.listItems({ datasetId: dataset.id, cursor: bad }), Status.INVALID_ARGUMENT);
  }
  await expectStatus(h.client.listItems({ datasetId: dataset.id, limit: 5000 }), Status.INVALID_ARGUMENT);
  assert.equal((await h.client.listItems({ datasetId: dataset.id })).items.length, 30, 'default limit 100');
  await expectStatus(h.client.listItems({ datasetId: '00000000-0000-4000-8000-000000000000' }), Status.NOT_FOUND);
});

type Counts = { train: number; validation: number; test: number };

async function listAll(datasetId: string) {
  return (await h.client.listItems({ datasetId, limit: 1000 })).items;
}

/** Trusted labels per class and split, from the items themselves. */
async function splitCounts(datasetId: string): Promise<Record<string, Counts>> {
  const result: Record<string, Counts> = {};
  for (const item of await listAll(datasetId)) {
    if (!item.label || item.label.source === MODEL) continue;
    const counts = (result[item.label.value] ??= { train: 0, validation: 0, test: 0 });
    if (item.split === TRAIN) counts.train += 1;
    else if (item.split === VALIDATION) counts.validation += 1;
    else if (item.split === TEST) counts.test += 1;
  }
  return result;
}

async function assertCountersMatchItems(datasetId: string): Promise<void> {
  const actual = await splitCounts(datasetId);
  const { rows } = await h.db.query<Counts & { class: string }>(
    'SELECT class, train, validation, test FROM dataset.class_split_counts WHERE dataset_id = $1',
    [datasetId],
  );
  for (const row of rows) {
    assert.deepEqual(
      { train: row.train, validation: row.validation, test: row.test },
      actual[row.class] ?? { train: 0, validation: 0, test: 0 },
      `counters of class ${row.class}`,
    );
  }
}
