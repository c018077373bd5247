import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { commonV1, datasetV1 } from '@labelloop/proto';
import { contentAddressedKey } from '@labelloop/storage';
import { Status } from 'nice-grpc';
import { datasetEvents, EventLog } from './support/events.js';
import { DIGITS, digits, eventually, expectStatus, zipOf, type Digit } from './support/fixtures.js';
import { startHarness, TEST_LIMITS, uniqueName, type DatasetClient, type Harness } from './support/harness.js';

// StartImport end to end: a real ZIP streamed in chunks, ingested in the background.

const { IMPORT_STATUS_SUCCEEDED: SUCCEEDED, IMPORT_STATUS_FAILED: FAILED } = datasetV1.ImportStatus;

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
  return (await h.client.createDataset({ name: uniqueName('imp'), classes })).dataset!;
}

function startImport(
  client: DatasetClient,
  header: Partial<datasetV1.ImportHeader>,
  archive: Buffer,
  chunkSize = 16 * 1024,
) {
  return client.startImport(
    (async function* () {
      yield { header: { datasetId: '', fileName: 'data.zip', addMissingClasses: false, actor: 'ann', ...header } };
      for (let offset = 0; offset < archive.length; offset += chunkSize)
        yield { chunk: archive.subarray(offset, offset + chunkSize) };
    })(),
  );
}

/**
 * Polls until the import ends; the progress seen on the way never goes backwards (except when
 * a resumed import starts counting again: pass from = -Infinity).
 */
async function finished(client: DatasetClient, importId: string, from = 0) {
  let processed = from;
  return eventually(
    async () => {
      const { import: record } = await client.getImport({ importId });
      assert.ok(record!.processed >= processed, 'progress never goes backwards');
      assert.ok(record!.processed <= record!.total);
      if (from !== -Infinity) processed = record!.processed;
      return record!.status === SUCCEEDED || record!.status === FAILED ? record! : undefined;
    },
    30_000,
    `import ${importId}`,
  );
}

const splitFolder = (i: number) => (i % 5 === 0 ? 'test' : i % 5 === 1 ? 'validation' : 'train');

test('imports a split/class ZIP: splits kept, bad files reported, counts and progress to SUCCEEDED', async () => {
  const dataset = await newDataset();
  const images = await digits(5000, 40);
  const unlabelled = await digits(5100, 3);
  const files = [
    ...images.map((d, i) => ({ path: `mnist/${splitFolder(i)}/${d.label}/${d.index}.png`, bytes: d.png })),
    ...unlabelled.map((d) => ({ path: `mnist/unlabelled/${d.index}.png`, bytes: d.png })),
    { path: 'mnist/train/3/broken.png', bytes: Buffer.from('definitely not a png') },
    { path: 'mnist/README.txt', bytes: Buffer.from('hello') },
  ];
  const { import: started } = await startImport(h.client, { datasetId: dataset.id }, await zipOf(files));
  assert.ok(started!.id);
  assert.equal(started!.datasetId, dataset.id);
  assert.equal(started!.fileName, 'data.zip');
  assert.equal(started!.total, 45);

  const done = await finished(h.client, started!.id);
  assert.equal(done.status, SUCCEEDED, done.failureReason);
  assert.deepEqual([done.total, done.processed, done.created, done.duplicates, done.rejected], [45, 45, 43, 0, 2]);
  assert.deepEqual(done.errors.map((e) => [e.fileName, e.code]).sort(), [
    ['mnist/README.txt', 'unexpected_path'],
    ['mnist/train/3/broken.png', 'not_an_image'],
  ]);
  assert.ok(done.finishedAt instanceof Date);

  const items = (await h.client.listItems({ datasetId: dataset.id, limit: 1000 })).items;
  assert.equal(items.length, 43);
  const bySha = new Map(items.map((item) => [item.sha256, item]));
  images.forEach((digit, i) => {
    const item = bySha.get(digit.sha256)!;
    assert.equal(item.label?.value, digit.label);
    assert.equal(item.label?.source, commonV1.LabelSource.LABEL_SOURCE_IMPORT);
    assert.equal(item.label?.actor, started!.id);
    const expected = {
      test: commonV1.Split.SPLIT_TEST,
      validation: commonV1.Split.SPLIT_VALIDATION,
      train: commonV1.Split.SPLIT_TRAIN,
    }[splitFolder(i)];
    assert.equal(item.split, expected, 'the folder decides the split');
    assert.equal(item.fileName, `${digit.index}.png`);
  });
  for (const digit of unlabelled)
    assert.equal(bySha.get(digit.sha256)!.status, datasetV1.ItemStatus.ITEM_STATUS_UNLABELLED);
  // Imported splits are counted: the class counters match the items.
  const { rows } = await h.db.query<{ n: number }>(
    'SELECT sum(train + validation + test)::int AS n FROM dataset.class_split_counts WHERE dataset_id = $1',
    [dataset.id],
  );
  assert.equal(rows[0]!.n, 40);
  // The archive copy is gone once the import is done.
  assert.equal(await h.s3.store.head(`imports/${dataset.id}/${started!.id}.zip`), undefined);

  const event = await events.expect(datasetEvents.importFinished, (e) => e.importId === started!.id);
  assert.deepEqual(
    [event.datasetId, event.succeeded, event.created, event.duplicates, event.rejected],
    [dataset.id, true, 43, 0, 2],
  );
  const ingested = events.all(datasetEvents.itemIngested).filter((e) => e.importId === started!.id);
  assert.equal(ingested.length, 43);

  // The same archive again: every image is a duplicate.
  const { import: again } = await startImport(h.client, { datasetId: dataset.id }, await zipOf(files));
  const second = await finished(h.client, again!.id);
  assert.deepEqual([second.created, second.duplicates, second.rejected], [0, 43, 2]);
});

test('unknown class folders refuse the archive unless add_missing_classes', async () => {
  const dataset = await newDataset(['0', '1']);
  const images = await digits(5200, 4);
  const files = images.map((d, i) => ({ path: `${['0', '1', 'seven', 'eight'][i]}/${d.index}.png`, bytes: d.png }));
  const archive = await zipOf(files);

  const refused = await expectStatus(
    startImport(h.client, { datasetId: dataset.id }, archive),
    Status.INVALID_ARGUMENT,
  );
  assert.match(refused.details, /not a class of this dataset/);
  const imports = await h.db.query('SELECT 1 FROM dataset.imports WHERE dataset_id = $1', [dataset.id]);
  assert.equal(imports.rowCount, 0, 'no import recorded');
  assert.equal((await h.client.listItems({ datasetId: dataset.id })).items.length, 0);
  for (const digit of images)
    assert.equal(await h.s3.store.head(contentAddressedKey(dataset.id, digit.sha256)), undefined);

  const { import: started } = await startImport(h.client, { datasetId: dataset.id, addMissingClasses: true }, archive);
  assert.deepEqual(started!.addedClasses, ['eight', 'seven']);
  const done = await finished(h.client, started!.id);
  assert.equal(done.created, 4);
  const { dataset: after } = await h.client.getDataset({ datasetId: dataset.id });
  assert.deepEqual(after!.classes, ['0', '1', 'eight', 'seven']);
});

test('StartImport refuses a missing header, an empty archive, garbage and oversized uploads', async () => {
  const dataset = await newDataset();
  await expectStatus(
    h.client.startImport(
      (async function* () {
        yield { chunk: Buffer.from('PK') };
      })(),
    ),
    Status.INVALID_ARGUMENT,
  );
  await expectStatus(startImport(h.client, { datasetId: dataset.id }, Buffer.alloc(0)), Status.INVALID_ARGUMENT);
  await expectStatus(
    startImport(h.client, { datasetId: dataset.id }, Buffer.from('not a zip at all')),
    Status.INVALID_ARGUMENT,
  );
  await expectStatus(
    startImport(h.client, { datasetId: dataset.id }, Buffer.alloc(TEST_LIMITS.maxArchiveBytes + 1), 1024 * 1024),
    Status.RESOURCE_EXHAUSTED,
  );
  await expectStatus(
    startImport(h.client, { datasetId: '00000000-0000-4000-8000-000000000000' }, Buffer.from('x')),
    Status.NOT_FOUND,
  );
  await expectStatus(h.client.getImport({ importId: '00000000-0000-4000-8000-000000000000' }), Status.NOT_FOUND);
});

test('an import interrupted by a shutdown resumes from the S3 copy on the next start', async () => {
  const dataset = await newDataset();
  const images: Digit[] = await digits(5300, 60);
  const archive = await zipOf(images.map((d) => ({ path: `${d.label}/${d.index}.png`, bytes: d.png })));

  const first = await h.startAnotherServer();
  const { import: started } = await startImport(first.client, { datasetId: dataset.id }, archive);
  // Shut that server down at once: the import is left unfinished, part-way or not started.
  await first.close();
  const { import: left } = await h.client.getImport({ importId: started!.id });
  assert.ok(
    [datasetV1.ImportStatus.IMPORT_STATUS_PENDING, datasetV1.ImportStatus.IMPORT_STATUS_RUNNING].includes(left!.status),
  );
  assert.ok(await h.s3.store.head(`imports/${dataset.id}/${started!.id}.zip`), 'the durable copy is still there');

  const second = await h.startAnotherServer();
  try {
    assert.ok((await second.server.imports.resumeUnfinished()) >= 1);
    const done = await finished(second.client, started!.id, -Infinity);
    assert.equal(done.status, SUCCEEDED);
    // Items the first run created still count as created by this import.
    assert.deepEqual([done.total, done.processed, done.created, done.duplicates, done.rejected], [60, 60, 60, 0, 0]);
    assert.equal((await h.client.listItems({ datasetId: dataset.id, limit: 1000 })).items.length, 60);
  } finally {
    await second.close();
  }
});

test('a resumed import whose stored archive is gone ends FAILED with ImportFinished(succeeded=false)', async () => {
  const dataset = await newDataset();
  const images = await digits(5400, 60);
  const archive = await zipOf(images.map((d) => ({ path: `${d.label}/${d.index}.png`, bytes: d.png })));
  const first = await h.startAnotherServer();
  const { import: started } = await startImport(first.client, { datasetId: dataset.id }, archive);
  await first.close();
  await h.s3.store.delete(`imports/${dataset.id}/${started!.id}.zip`);

  const second = await h.startAnotherServer();
  try {
    await second.server.imports.resumeUnfinished();
    const done = await finished(second.client, started!.id, -Infinity);
    assert.equal(done.status, FAILED);
    assert.equal(done.failureReason, 'the stored archive is missing');
    const event = await events.expect(datasetEvents.importFinished, (e) => e.importId === started!.id);
    assert.equal(event.succeeded, false);
  } finally {
    await second.close();
  }
});
