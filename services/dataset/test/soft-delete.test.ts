import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createLogger, FailedPreconditionError, NotFoundError } from '@labelloop/common';
import { commonV1, datasetV1 } from '@labelloop/proto';
import { Status } from 'nice-grpc';
import { DatasetRepository } from '../src/adapters/dataset-repository.js';
import { DatasetPurger, datasetObjectPrefixes } from '../src/domain/dataset-purge.js';
import { DIGITS, digits, expectStatus, mapLimit, zipOf } from './support/fixtures.js';
import { startHarness, uniqueName, type Harness } from './support/harness.js';

// Soft delete: a deleted dataset is NOT_FOUND everywhere but keeps every row and object; it is
// restorable within the retention; the purge removes rows and objects once the retention is over.

const HUMAN = commonV1.LabelSource.LABEL_SOURCE_HUMAN;
let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

const hooks = { eventsCommitted: () => {}, labelApplied: () => {} };

/** A dataset with `count` items (first two labelled, one relabelled) and a finished import. */
async function populated(from: number, count = 6) {
  const { dataset } = await h.client.createDataset({ name: uniqueName('deletable'), classes: DIGITS });
  const images = await digits(from, count);
  const items = await mapLimit(images, 4, async (digit) => {
    const { item } = await h.client.uploadItem({ datasetId: dataset!.id, fileName: `${digit.index}.png`, content: digit.png, label: '', actor: 'ann' });
    return item!;
  });
  await h.client.setLabel({ itemId: items[0]!.id, label: '1', source: HUMAN, actor: 'ann', modelVersion: '' });
  await h.client.setLabel({ itemId: items[0]!.id, label: '2', source: HUMAN, actor: 'ann', modelVersion: '' });
  await h.client.setLabel({ itemId: items[1]!.id, label: '3', source: HUMAN, actor: 'ann', modelVersion: '' });
  const archive = await zipOf((await digits(from + 100, 2)).map((d) => ({ path: `${d.label}/${d.index}.png`, bytes: d.png })));
  const started = await h.client.startImport(
    (async function* () {
      yield { header: { datasetId: dataset!.id, fileName: 'a.zip', addMissingClasses: false, actor: 'ann' } };
      yield { chunk: archive };
    })(),
  );
  const importId = started.import!.id;
  for (let i = 0; i < 200; i++) {
    const { import: record } = await h.client.getImport({ importId });
    if (record!.status === datasetV1.ImportStatus.IMPORT_STATUS_SUCCEEDED) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { dataset: dataset!, items, importId };
}

async function counts(datasetId: string) {
  const one = async (sql: string) => Number((await h.db.query<{ n: number }>(sql, [datasetId])).rows[0]!.n);
  let objects = 0;
  for (const prefix of datasetObjectPrefixes(datasetId)) for await (const _ of h.s3.store.list(prefix)) objects += 1;
  return {
    datasets: await one('SELECT count(*) AS n FROM dataset.datasets WHERE id = $1'),
    items: await one('SELECT count(*) AS n FROM dataset.items WHERE dataset_id = $1'),
    labels: await one('SELECT count(*) AS n FROM dataset.item_labels l JOIN dataset.items i ON i.id = l.item_id WHERE i.dataset_id = $1'),
    imports: await one('SELECT count(*) AS n FROM dataset.imports WHERE dataset_id = $1'),
    counters: await one('SELECT count(*) AS n FROM dataset.class_split_counts WHERE dataset_id = $1'),
    objects,
  };
}

test('a deleted dataset answers NOT_FOUND everywhere, keeps its rows and objects, and comes back on restore', async () => {
  const { dataset, items, importId } = await populated(3000);
  const before = await counts(dataset.id);
  assert.deepEqual({ ...before, objects: before.objects >= 8 }, { datasets: 1, items: 8, labels: 3 + 2, imports: 1, counters: 10, objects: true });

  const deleted = await h.client.deleteDataset({ datasetId: dataset.id, actor: 'root' });
  assert.ok(deleted.dataset!.deletedAt instanceof Date);
  const retention = deleted.dataset!.purgeAfter!.getTime() - deleted.dataset!.deletedAt!.getTime();
  assert.equal(retention, 30 * 86_400_000, 'default retention: 30 days');

  const id = dataset.id;
  const item = items[0]!.id;
  const uploadPng = (await digits(3500, 1))[0]!.png;
  const hidden: Array<[string, () => Promise<unknown>]> = [
    ['GetDataset', () => h.client.getDataset({ datasetId: id })],
    ['DeleteDataset again', () => h.client.deleteDataset({ datasetId: id, actor: 'root' })],
    ['ListItems', () => h.client.listItems({ datasetId: id, limit: 10 })],
    ['GetItem', () => h.client.getItem({ itemId: item })],
    ['GetItemImage', () => h.client.getItemImage({ itemId: item })],
    ['ListLabelHistory', () => h.client.listLabelHistory({ itemId: item })],
    ['SetLabel', () => h.client.setLabel({ itemId: item, label: '5', source: HUMAN, actor: 'ann', modelVersion: '' })],
    ['GetImport', () => h.client.getImport({ importId })],
    ['UploadItem', () => h.client.uploadItem({ datasetId: id, fileName: 'x.png', content: uploadPng, label: '', actor: 'ann' })],
    ['LeaseReviewItems', () => h.client.leaseReviewItems({ datasetId: id, actor: 'ann', limit: 5 })],
    ['AnswerReviewItems', () => h.client.answerReviewItems({ datasetId: id, actor: 'ann', answers: [{ itemId: item, action: datasetV1.ReviewAction.REVIEW_ACTION_SKIP, label: '' }] })],
    ['ListScoringJobs', () => h.client.listScoringJobs({ datasetId: id, limit: 5 })],
    ['GetActiveLearningReport', () => h.client.getActiveLearningReport({ datasetId: id })],
    ['UpdateActiveLearningSettings', () => h.client.updateActiveLearningSettings({ datasetId: id, settings: {} as datasetV1.ActiveLearningSettings })],
    ['BeginScoring', () => h.client.beginScoring({ datasetId: id, modelId: 'm', modelVersion: 1, artifactPrefix: 'models/x/1/', shardSize: 10 })],
    [
      'ExportDataset',
      async () => {
        for await (const _ of h.client.exportDataset({ datasetId: id, format: datasetV1.ExportFormat.EXPORT_FORMAT_CSV, sources: [] })) {
          // drain
        }
      },
    ],
  ];
  for (const [name, call] of hidden) {
    const err = await expectStatus(call(), Status.NOT_FOUND).catch((e: Error) => assert.fail(`${name}: ${e.message}`));
    assert.doesNotMatch(err.details, /deleted/, `${name} must not reveal the deletion`);
  }
  const live = await h.client.listDatasets({ limit: 1000, cursor: '', deleted: false, datasetIds: [] });
  assert.ok(!live.datasets.some((d) => d.id === id), 'hidden from the list');
  const trash = await h.client.listDatasets({ limit: 1000, cursor: '', deleted: true, datasetIds: [] });
  assert.ok(trash.datasets.some((d) => d.id === id && d.purgeAfter instanceof Date), 'listed among the deleted ones');

  assert.deepEqual(await counts(id), before, 'nothing removed by the soft delete');

  // Its name is free again; restoring while another dataset holds it is a conflict.
  const twin = await h.client.createDataset({ name: dataset.name, classes: ['a'] });
  await expectStatus(h.client.restoreDataset({ datasetId: id, actor: 'root' }), Status.ALREADY_EXISTS);
  await h.client.deleteDataset({ datasetId: twin.dataset!.id, actor: 'root' });

  const restored = await h.client.restoreDataset({ datasetId: id, actor: 'root' });
  assert.equal(restored.dataset!.deletedAt, undefined);
  const { statistics } = await h.client.getDataset({ datasetId: id });
  assert.equal(statistics!.totalItems, 8);
  assert.equal((await h.client.listLabelHistory({ itemId: item })).events.length, 2);
  assert.equal((await h.client.getItemImage({ itemId: item })).content.length > 0, true);
  await expectStatus(h.client.restoreDataset({ datasetId: id, actor: 'root' }), Status.NOT_FOUND);
  await expectStatus(h.client.restoreDataset({ datasetId: 'not-a-uuid', actor: 'root' }), Status.NOT_FOUND);
  assert.deepEqual(await counts(id), before);
});

test('GetDataset with skip_statistics answers without statistics; ListDatasets filters by ids', async () => {
  const { dataset } = await h.client.createDataset({ name: uniqueName('cheap'), classes: ['a'] });
  const cheap = await h.client.getDataset({ datasetId: dataset!.id, skipStatistics: true });
  assert.equal(cheap.dataset!.id, dataset!.id);
  assert.equal(cheap.statistics, undefined);
  const only = await h.client.listDatasets({ limit: 10, cursor: '', deleted: false, datasetIds: [dataset!.id, 'junk'] });
  assert.deepEqual(only.datasets.map((d) => d.id), [dataset!.id]);
});

test('the purge removes rows and objects of datasets deleted longer ago than the retention, and nothing else', async () => {
  const logger = createLogger({ service: 'purge-test', level: 'silent' });
  const repository = new DatasetRepository(h.db, hooks);
  const old = await populated(4000);
  const young = await populated(4200, 3);
  const kept = await populated(4400, 3);
  const keptBefore = await counts(kept.dataset.id);
  const youngBefore = await counts(young.dataset.id);

  await h.client.deleteDataset({ datasetId: old.dataset.id, actor: 'root' });
  await new Promise((r) => setTimeout(r, 1500));
  await h.client.deleteDataset({ datasetId: young.dataset.id, actor: 'root' });

  const retentionMs = 1000;
  // Past the retention a restore is refused even before the purge ran.
  await assert.rejects(repository.restore(old.dataset.id, retentionMs), FailedPreconditionError);

  const purger = new DatasetPurger({ store: repository, objects: h.s3.store, retentionMs, intervalMs: 60_000, logger });
  const purged = await purger.purgeExpired();
  const mine = purged.filter((p) => [old.dataset.id, young.dataset.id, kept.dataset.id].includes(p.id));
  assert.equal(mine.length, 1);
  assert.equal(mine[0]!.id, old.dataset.id);
  assert.equal(mine[0]!.items, 8);
  assert.ok(mine[0]!.objects >= 8);

  assert.deepEqual(await counts(old.dataset.id), { datasets: 0, items: 0, labels: 0, imports: 0, counters: 0, objects: 0 });
  assert.deepEqual(await counts(young.dataset.id), youngBefore, 'younger than the retention: kept');
  assert.deepEqual(await counts(kept.dataset.id), keptBefore, 'live: untouched');
  await assert.rejects(repository.restore(old.dataset.id, 30 * 86_400_000), NotFoundError);
  await expectStatus(h.client.restoreDataset({ datasetId: old.dataset.id, actor: 'root' }), Status.NOT_FOUND);

  // The scheduled purge does the same on its own.
  await new Promise((r) => setTimeout(r, 1100));
  const scheduled = new DatasetPurger({ store: repository, objects: h.s3.store, retentionMs, intervalMs: 100, logger });
  scheduled.start();
  try {
    for (let i = 0; i < 100 && (await counts(young.dataset.id)).datasets > 0; i++) await new Promise((r) => setTimeout(r, 100));
  } finally {
    await scheduled.stop();
  }
  assert.deepEqual(await counts(young.dataset.id), { datasets: 0, items: 0, labels: 0, imports: 0, counters: 0, objects: 0 });
  assert.deepEqual(await counts(kept.dataset.id), keptBefore);
});
