import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { datasetV1 } from '@labelloop/proto';
import { contentAddressedKey } from '@labelloop/storage';
import { Status } from 'nice-grpc';
import { UPLOAD_CHUNK_FILES } from '../src/grpc/upload-items.js';
import { datasetEvents, EventLog } from './support/events.js';
import { DIGITS, digits, expectStatus, sha256 } from './support/fixtures.js';
import { startHarness, uniqueName, type Harness } from './support/harness.js';

// UploadItems (client stream, stored in chunks) against a real server: PGlite or PostgreSQL,
// s3rver, nats-server.

const { UPLOAD_OUTCOME_CREATED: CREATED, UPLOAD_OUTCOME_DUPLICATE: DUPLICATE, UPLOAD_OUTCOME_REJECTED: REJECTED } =
  datasetV1.UploadOutcome;

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

async function newDataset() {
  const { dataset } = await h.client.createDataset({ name: uniqueName('batch'), classes: DIGITS });
  return dataset!;
}

type Message = Omit<datasetV1.UploadItemsRequest, 'datasetId' | 'actor'>;

async function* stream(datasetId: string, messages: readonly Message[]): AsyncIterable<datasetV1.UploadItemsRequest> {
  for (const message of messages) yield { datasetId, actor: 'ann', ...message };
}

async function storedItems(datasetId: string): Promise<number> {
  const { rows } = await h.db.query<{ n: number }>('SELECT count(*)::int AS n FROM dataset.items WHERE dataset_id = $1', [
    datasetId,
  ]);
  return rows[0]!.n;
}

async function storedObjects(datasetId: string): Promise<number> {
  let n = 0;
  for await (const _ of h.s3.store.list(`datasets/${datasetId}/items/`)) n++;
  return n;
}

test('UploadItems: results in order over several chunks, mixing created, duplicate and rejected', async () => {
  const dataset = await newDataset();
  const images = await digits(100, UPLOAD_CHUNK_FILES + 6);
  // One stored (unlabelled) before the stream: the stream's copy labels it.
  const early = await h.client.uploadItem({ datasetId: dataset.id, fileName: 'early.png', content: images[5]!.png, label: '', actor: '' });

  const junk = Buffer.from('not an image at all');
  const messages: Message[] = images.map((d, i) => ({ fileName: `d${i}.png`, content: d.png, label: d.label }));
  messages.splice(3, 0, { fileName: 'junk.txt', content: junk, label: '1' });
  messages.splice(10, 0, { fileName: 'again-d0.png', content: images[0]!.png, label: '' }); // same chunk
  messages.push({ fileName: 'late-d1.png', content: images[1]!.png, label: '' }); // a later chunk
  messages.push({ fileName: 'cut.png', content: images[2]!.png.subarray(0, 40), label: '' });

  const { results } = await h.client.uploadItems(stream(dataset.id, messages));
  assert.equal(results.length, messages.length);
  const expected = messages.map((m) => {
    if (m.fileName === 'junk.txt' || m.fileName === 'cut.png') return REJECTED;
    if (m.fileName.startsWith('again') || m.fileName.startsWith('late') || m.fileName === 'd5.png') return DUPLICATE;
    return CREATED;
  });
  assert.deepEqual(results.map((r) => r.outcome), expected);
  results.forEach((result, i) => {
    const message = messages[i]!;
    if (result.outcome === REJECTED) {
      assert.equal(result.error?.fileName, message.fileName);
      return;
    }
    assert.equal(result.item!.sha256, sha256(message.content), `result ${i} belongs to ${message.fileName}`);
  });
  const byName = new Map(messages.map((m, i) => [m.fileName, results[i]!]));
  assert.equal(byName.get('again-d0.png')!.item!.id, byName.get('d0.png')!.item!.id);
  assert.equal(byName.get('late-d1.png')!.item!.id, byName.get('d1.png')!.item!.id);
  // The stream's label filled the item stored unlabelled before it.
  assert.equal(byName.get('d5.png')!.item!.id, early.item!.id);
  assert.equal(byName.get('d5.png')!.item!.label?.value, images[5]!.label);
  assert.equal(byName.get('d7.png')!.item!.label?.actor, 'ann');

  // Rejected files left no row and no object; every image is stored once.
  assert.equal(await storedItems(dataset.id), images.length);
  assert.equal(await storedObjects(dataset.id), images.length);
  assert.equal(await h.s3.store.head(contentAddressedKey(dataset.id, sha256(junk))), undefined);

  const { statistics } = await h.client.getDataset({ datasetId: dataset.id });
  assert.equal(statistics!.byStatus!.labelled, images.length);
  const bySplit = statistics!.bySplit!;
  assert.equal((bySplit.train ?? 0) + (bySplit.validation ?? 0) + (bySplit.test ?? 0), images.length);
  const { rows } = await h.db.query<{ n: number }>(
    'SELECT sum(train + validation + test)::int AS n FROM dataset.class_split_counts WHERE dataset_id = $1',
    [dataset.id],
  );
  assert.equal(rows[0]!.n, images.length, 'the split counters agree with the items');

  const last = byName.get(`d${images.length - 1}.png`)!.item!;
  await events.expect(datasetEvents.itemLabeled, (e) => e.itemId === last.id);
  const ingested = events.all(datasetEvents.itemIngested).filter((e) => e.datasetId === dataset.id);
  assert.equal(ingested.length, images.length);
});

test('UploadItems: a bad label, a missing dataset or a second dataset fails the call; nothing of it is stored', async () => {
  const dataset = await newDataset();
  const images = await digits(300, 3);
  const err = await expectStatus(
    h.client.uploadItems(
      stream(dataset.id, [
        { fileName: 'a.png', content: images[0]!.png, label: 'cat' },
        { fileName: 'b.png', content: images[1]!.png, label: '' },
      ]),
    ),
    Status.INVALID_ARGUMENT,
  );
  assert.match(err.details, /label "cat" is not a class/);
  await expectStatus(
    h.client.uploadItems(stream('00000000-0000-4000-8000-000000000000', [{ fileName: 'a.png', content: images[0]!.png, label: '' }])),
    Status.NOT_FOUND,
  );
  const other = await newDataset();
  async function* twoDatasets(): AsyncIterable<datasetV1.UploadItemsRequest> {
    yield { datasetId: dataset.id, fileName: 'a.png', content: images[0]!.png, label: '', actor: '' };
    yield { datasetId: other.id, fileName: 'b.png', content: images[1]!.png, label: '', actor: '' };
  }
  await expectStatus(h.client.uploadItems(twoDatasets()), Status.INVALID_ARGUMENT);
  for (const id of [dataset.id, other.id]) {
    assert.equal(await storedItems(id), 0);
    assert.equal(await storedObjects(id), 0);
  }
  const empty = await h.client.uploadItems(stream(dataset.id, []));
  assert.deepEqual(empty.results, []);
});

test('UploadItems: when the chunk transaction fails, none of its rows or objects stay', async () => {
  const dataset = await newDataset();
  const images = await digits(400, 4);
  await h.db.query(`CREATE FUNCTION dataset.refuse_batch() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN IF NEW.file_name = 'explode.png' THEN RAISE EXCEPTION 'refused by test trigger'; END IF; RETURN NEW; END $$`);
  await h.db.query(
    `CREATE TRIGGER refuse_batch BEFORE INSERT ON dataset.items FOR EACH ROW EXECUTE FUNCTION dataset.refuse_batch()`,
  );
  try {
    await expectStatus(
      h.client.uploadItems(
        stream(dataset.id, [
          { fileName: 'a.png', content: images[0]!.png, label: '1' },
          { fileName: 'b.png', content: images[1]!.png, label: '' },
          { fileName: 'explode.png', content: images[2]!.png, label: '' },
        ]),
      ),
      Status.INTERNAL,
    );
  } finally {
    await h.db.query('DROP TRIGGER refuse_batch ON dataset.items');
    await h.db.query('DROP FUNCTION dataset.refuse_batch()');
  }
  assert.equal(await storedItems(dataset.id), 0);
  assert.equal(await storedObjects(dataset.id), 0);
  const { rows } = await h.db.query<{ n: number }>(
    'SELECT sum(train + validation + test)::int AS n FROM dataset.class_split_counts WHERE dataset_id = $1',
    [dataset.id],
  );
  assert.equal(rows[0]!.n, 0);
  const retry = await h.client.uploadItems(
    stream(dataset.id, images.map((d, i) => ({ fileName: `d${i}.png`, content: d.png, label: '' }))),
  );
  assert.deepEqual(retry.results.map((r) => r.outcome), [CREATED, CREATED, CREATED, CREATED]);
});
