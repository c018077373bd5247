import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { clopperPearsonInterval } from '@labelloop/active-learning';
import { commonV1, datasetV1 } from '@labelloop/proto';
import { createChannel, createClient, Status } from 'nice-grpc';
import { datasetEvents, EventLog } from './support/events.js';
import { DIGITS, digits, eventually, expectStatus, mapLimit } from './support/fixtures.js';
import { startHarness, uniqueName, type DatasetClient, type Harness } from './support/harness.js';

// The review queue through the real gRPC server: leases (also under concurrency), answers, blind
// audits, the reaction to a failed audit, and the active-learning report. Tasks, predictions and
// scoring jobs are planted with SQL, as a finalized scoring would leave them.

const { REVIEW_ACTION_LABEL: LABEL, REVIEW_ACTION_SKIP: SKIP, REVIEW_ACTION_NOT_IN_CLASSES: NOT_IN_CLASSES } =
  datasetV1.ReviewAction;
const { REVIEW_REASON_UNCERTAIN: UNCERTAIN, REVIEW_REASON_AUDIT: AUDIT, REVIEW_REASON_SUSPECTED_LABEL_ERROR: SUSPECTED } =
  datasetV1.ReviewReason;
const { LABEL_SOURCE_HUMAN: HUMAN, LABEL_SOURCE_MODEL: MODEL } = commonV1.LabelSource;

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

type Reason = 'uncertain' | 'audit' | 'suspected_label_error';

async function datasetWithItems(count: number, from: number) {
  const { dataset } = await h.client.createDataset({ name: uniqueName('review'), classes: DIGITS });
  const images = await digits(from, count);
  const items = await mapLimit(images, 8, async (digit) => {
    const { item } = await h.client.uploadItem({
      datasetId: dataset!.id,
      fileName: `${digit.index}.png`,
      content: digit.png,
      label: '',
      actor: '',
    });
    return item!;
  });
  return { dataset: dataset!, items };
}

async function plantJob(datasetId: string, version: number, status = 'SUCCEEDED', decision: unknown = null) {
  const id = randomUUID();
  await h.db.query(
    `INSERT INTO dataset.scoring_jobs (id, dataset_id, model_id, model_version, artifact_prefix, status,
       shards_total, items_total, decision)
     VALUES ($1, $2, $3, $4, $5, $6, 0, 0, $7)`,
    [id, datasetId, `model-${version}`, version, `models/${datasetId}/${version}/`, status, decision && JSON.stringify(decision)],
  );
  return id;
}

/** A prediction whose most probable class is `top` (with `confidence`), the rest spread evenly. */
function probabilitiesFor(top: number, confidence: number, second?: number, secondConfidence = 0): number[] {
  const others = DIGITS.length - 1 - (second === undefined ? 0 : 1);
  const rest = (1 - confidence - secondConfidence) / others;
  return DIGITS.map((_, i) => (i === top ? confidence : i === second ? secondConfidence : rest));
}

async function plantPrediction(
  datasetId: string,
  jobId: string,
  version: number,
  itemId: string,
  probabilities: number[],
  acquisitionScore: number,
) {
  const top = probabilities.indexOf(Math.max(...probabilities));
  await h.db.query(
    `INSERT INTO dataset.predictions (item_id, model_version, dataset_id, job_id, predicted, confidence, probabilities,
       acquisition_score)
     VALUES ($1, $2, $3, $4, $5, $6, $7::real[], $8)`,
    [itemId, version, datasetId, jobId, DIGITS[top], probabilities[top], probabilities, acquisitionScore],
  );
}

async function plantTask(
  datasetId: string,
  itemId: string,
  reason: Reason,
  priority: number,
  version = 1,
  subjectLabel: string | null = null,
) {
  await h.db.query(
    `INSERT INTO dataset.review_tasks (id, dataset_id, item_id, reason, priority, model_version, subject_label)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [randomUUID(), datasetId, itemId, reason, priority, version, subjectLabel],
  );
}

async function taskRow(itemId: string) {
  const { rows } = await h.db.query<{ leased_by: string | null; priority: number; skips: number; reason: string }>(
    'SELECT leased_by, priority, skips, reason FROM dataset.review_tasks WHERE item_id = $1',
    [itemId],
  );
  return rows[0];
}

async function expireLease(itemId: string) {
  await h.db.query(
    "UPDATE dataset.review_tasks SET lease_expires_at = now() - interval '1 second' WHERE item_id = $1",
    [itemId],
  );
}

function modelLabel(itemId: string, value: string, version: number) {
  return h.client.setLabel({
    itemId,
    label: value,
    source: MODEL,
    actor: `model:v${version}`,
    modelVersion: String(version),
    confidence: 0.99,
  });
}

function humanLabel(itemId: string, value: string) {
  return h.client.setLabel({ itemId, label: value, source: HUMAN, actor: 'curator', modelVersion: '' });
}

function answer(datasetId: string, actor: string, answers: Array<Partial<datasetV1.ReviewAnswer>>) {
  return h.client.answerReviewItems({
    datasetId,
    actor,
    answers: answers.map((a) => ({ itemId: '', action: LABEL, label: '', ...a })),
  });
}

async function history(itemId: string) {
  return (await h.client.listLabelHistory({ itemId })).events.map((e) => [e.value, e.source, e.actor, e.modelVersion]);
}

test('leases the best tasks first with top-3 suggestions from the latest prediction; the same reviewer gets its lease back', async () => {
  const { dataset, items } = await datasetWithItems(6, 0);
  const job1 = await plantJob(dataset.id, 1);
  const job2 = await plantJob(dataset.id, 2);
  for (const [i, item] of items.entries()) {
    await plantPrediction(dataset.id, job1, 1, item.id, probabilitiesFor(0, 0.9), 0.1);
    await plantPrediction(dataset.id, job2, 2, item.id, probabilitiesFor(7, 0.5, 1, 0.3), 0.5);
    await plantTask(dataset.id, item.id, 'uncertain', 10 - i, 2);
  }
  await expectStatus(h.client.leaseReviewItems({ datasetId: dataset.id, actor: 'ann', limit: 101 }), Status.INVALID_ARGUMENT);
  await expectStatus(h.client.leaseReviewItems({ datasetId: dataset.id, actor: '', limit: 1 }), Status.INVALID_ARGUMENT);
  await expectStatus(h.client.leaseReviewItems({ datasetId: randomUUID(), actor: 'ann', limit: 1 }), Status.NOT_FOUND);

  const before = Date.now();
  const first = await h.client.leaseReviewItems({ datasetId: dataset.id, actor: 'ann', limit: 2 });
  // Lowest priority first: the last two items (priorities 5 and 6).
  assert.deepEqual(
    first.tasks.map((t) => t.item!.id),
    [items[5]!.id, items[4]!.id],
  );
  assert.equal(first.remaining, 4);
  const task = first.tasks[0]!;
  assert.equal(task.reason, UNCERTAIN);
  assert.equal(task.modelVersion, '2');
  assert.equal(task.currentLabel, '');
  assert.deepEqual(
    task.suggestions.map((s) => s.label),
    ['7', '1', '0'],
    'top 3 of the version-2 prediction (the latest), best first',
  );
  assert.ok(Math.abs(task.suggestions[0]!.confidence - 0.5) < 1e-6);
  const leaseMs = task.leaseExpiresAt!.getTime() - before;
  assert.ok(leaseMs > 290_000 && leaseMs < 310_000, `default lease of 300 s, got ${leaseMs} ms`);

  // Another reviewer never gets ann's tasks; ann gets hers back first, then the next best.
  const bob = await h.client.leaseReviewItems({ datasetId: dataset.id, actor: 'bob', limit: 2 });
  assert.deepEqual(
    bob.tasks.map((t) => t.item!.id),
    [items[3]!.id, items[2]!.id],
  );
  const again = await h.client.leaseReviewItems({ datasetId: dataset.id, actor: 'ann', limit: 3 });
  assert.deepEqual(
    again.tasks.map((t) => t.item!.id),
    [items[5]!.id, items[4]!.id, items[1]!.id],
  );
  assert.equal(again.remaining, 1);

  // The default limit is 10; a dataset's lease time comes from its settings.
  await h.client.updateActiveLearningSettings({ datasetId: dataset.id, settings: { leaseSeconds: 30 } });
  const start = Date.now();
  const carl = await h.client.leaseReviewItems({ datasetId: dataset.id, actor: 'carl', limit: 0 });
  assert.deepEqual(
    carl.tasks.map((t) => t.item!.id),
    [items[0]!.id],
  );
  const carlMs = carl.tasks[0]!.leaseExpiresAt!.getTime() - start;
  assert.ok(carlMs > 25_000 && carlMs < 35_000, `lease of 30 s, got ${carlMs} ms`);
  assert.equal(carl.remaining, 0);
  const none = await h.client.leaseReviewItems({ datasetId: dataset.id, actor: 'dora', limit: 5 });
  assert.deepEqual(none.tasks, []);
});

test('20 reviewers leasing 5 tasks each at the same time share 100 tasks without overlap', async () => {
  const { dataset, items } = await datasetWithItems(100, 200);
  await mapLimit([...items.entries()], 8, ([i, item]) => plantTask(dataset.id, item.id, 'uncertain', (i * 7) % 17));
  // Separate connections, as separate gateway replicas would have.
  const channels = Array.from({ length: 20 }, () => createChannel(`127.0.0.1:${h.port}`));
  try {
    const clients: DatasetClient[] = channels.map((channel) => createClient(datasetV1.DatasetServiceDefinition, channel));
    const leases = await Promise.all(
      clients.map((client, i) => client.leaseReviewItems({ datasetId: dataset.id, actor: `reviewer-${i}`, limit: 5 })),
    );
    const leased = leases.flatMap((lease) => lease.tasks.map((t) => t.item!.id));
    assert.equal(new Set(leased).size, leased.length, 'no task leased twice');
    assert.equal(leased.length, 100, 'every task handed out');
    assert.deepEqual(new Set(leased), new Set(items.map((item) => item.id)));
    for (const lease of leases) assert.equal(lease.tasks.length, 5);
    const late = await h.client.leaseReviewItems({ datasetId: dataset.id, actor: 'late', limit: 5 });
    assert.equal(late.tasks.length, 0);
    assert.equal(late.remaining, 0);

    // Each reviewer answers its own tasks concurrently: all accepted, all labelled once.
    const answered = await Promise.all(
      leases.map((lease, i) =>
        clients[i]!.answerReviewItems({
          datasetId: dataset.id,
          actor: `reviewer-${i}`,
          answers: lease.tasks.map((t) => ({ itemId: t.item!.id, action: LABEL, label: '3' })),
        }),
      ),
    );
    assert.ok(answered.every((r) => r.results.every((result) => result.accepted)));
    const { rows } = await h.db.query<{ n: number }>(
      "SELECT count(*) AS n FROM dataset.items WHERE dataset_id = $1 AND label = '3' AND label_source = 'human'",
      [dataset.id],
    );
    assert.equal(rows[0]!.n, 100);
    const left = await h.db.query<{ n: number }>('SELECT count(*) AS n FROM dataset.review_tasks WHERE dataset_id = $1', [
      dataset.id,
    ]);
    assert.equal(left.rows[0]!.n, 0);
  } finally {
    for (const channel of channels) channel.close();
  }
});

test('an expired lease returns the task to the queue; answers need a live lease of the caller', async () => {
  const { dataset, items } = await datasetWithItems(4, 400);
  const [a, b, c, noTask] = items as [datasetV1.Item, datasetV1.Item, datasetV1.Item, datasetV1.Item];
  await plantTask(dataset.id, a.id, 'uncertain', 1);
  await plantTask(dataset.id, b.id, 'uncertain', 2);
  await plantTask(dataset.id, c.id, 'uncertain', 3);

  const ann = await h.client.leaseReviewItems({ datasetId: dataset.id, actor: 'ann', limit: 1 });
  assert.equal(ann.tasks[0]!.item!.id, a.id);
  const refused = await answer(dataset.id, 'bob', [
    { itemId: a.id, label: '1' }, // ann's
    { itemId: b.id, label: '1' }, // nobody's
    { itemId: noTask.id, label: '1' }, // no task at all
    { itemId: 'not-a-uuid', label: '1' },
  ]);
  assert.deepEqual(
    refused.results.map((r) => [r.accepted, r.code]),
    [
      [false, 'lease_lost'],
      [false, 'not_leased'],
      [false, 'not_leased'],
      [false, 'not_leased'],
    ],
  );
  assert.equal((await h.client.getItem({ itemId: a.id })).item!.labelVersion, 0, 'nothing stored');

  await expireLease(a.id);
  const expiredOwn = await answer(dataset.id, 'ann', [{ itemId: a.id, label: '1' }]);
  assert.deepEqual([expiredOwn.results[0]!.accepted, expiredOwn.results[0]!.code], [false, 'lease_lost']);
  const bob = await h.client.leaseReviewItems({ datasetId: dataset.id, actor: 'bob', limit: 1 });
  assert.equal(bob.tasks[0]!.item!.id, a.id, 'the expired task is served again, best first');
  const late = await answer(dataset.id, 'ann', [{ itemId: a.id, label: '1' }]);
  assert.deepEqual([late.results[0]!.accepted, late.results[0]!.code], [false, 'lease_lost']);

  const ok = await answer(dataset.id, 'bob', [{ itemId: a.id, label: '1' }]);
  assert.equal(ok.results[0]!.accepted, true);
  assert.equal(ok.results[0]!.item!.label!.value, '1');
  assert.equal(ok.results[0]!.item!.label!.source, HUMAN);
  assert.equal(ok.results[0]!.item!.label!.actor, 'bob');
  assert.equal(await taskRow(a.id), undefined, 'answered task deleted');
  const again = await answer(dataset.id, 'bob', [{ itemId: a.id, label: '2' }]);
  assert.deepEqual([again.results[0]!.accepted, again.results[0]!.code], [false, 'not_leased']);
  // The human label reaches the retrain policy as an ItemLabeled event.
  const event = await events.expect(datasetEvents.itemLabeled, (e) => e.itemId === a.id);
  assert.equal(event.label, '1');
  assert.equal(event.source, HUMAN);
  assert.equal(event.actor, 'bob');

  await expectStatus(answer(dataset.id, '', [{ itemId: b.id, label: '1' }]), Status.INVALID_ARGUMENT);
  await expectStatus(answer(dataset.id, 'bob', []), Status.INVALID_ARGUMENT);
  await expectStatus(
    answer(
      dataset.id,
      'bob',
      Array.from({ length: 101 }, () => ({ itemId: b.id, label: '1' })),
    ),
    Status.INVALID_ARGUMENT,
  );
});

test('an unknown class is refused with nothing stored; one bad answer does not undo the good ones', async () => {
  const { dataset, items } = await datasetWithItems(3, 500);
  for (const [i, item] of items.entries()) await plantTask(dataset.id, item.id, 'uncertain', i);
  await h.client.leaseReviewItems({ datasetId: dataset.id, actor: 'ann', limit: 3 });
  const historyBefore = await history(items[1]!.id);
  const { results } = await answer(dataset.id, 'ann', [
    { itemId: items[0]!.id, label: '4' },
    { itemId: items[1]!.id, label: 'cat' },
    { itemId: items[2]!.id, action: datasetV1.ReviewAction.REVIEW_ACTION_UNSPECIFIED },
  ]);
  assert.deepEqual(
    results.map((r) => [r.itemId, r.accepted, r.code]),
    [
      [items[0]!.id, true, ''],
      [items[1]!.id, false, 'unknown_class'],
      [items[2]!.id, false, 'invalid_answer'],
    ],
  );
  assert.match(results[1]!.reason, /cat/);
  assert.equal((await h.client.getItem({ itemId: items[0]!.id })).item!.label!.value, '4');
  const refusedItem = (await h.client.getItem({ itemId: items[1]!.id })).item!;
  assert.equal(refusedItem.label, undefined);
  assert.equal(refusedItem.labelVersion, 0);
  assert.deepEqual(await history(items[1]!.id), historyBefore);
  assert.equal((await taskRow(items[1]!.id))!.leased_by, 'ann', 'the refused task stays leased to its reviewer');
  // The reviewer can correct the answer within the lease.
  const retry = await answer(dataset.id, 'ann', [{ itemId: items[1]!.id, label: '5' }]);
  assert.equal(retry.results[0]!.accepted, true);
});

test('tasks whose item was labelled some other way are neither served nor counted', async () => {
  const { dataset, items } = await datasetWithItems(3, 650);
  for (const [i, item] of items.entries()) await plantTask(dataset.id, item.id, 'uncertain', i);
  await humanLabel(items[0]!.id, '1'); // labelled in the UI meanwhile
  await modelLabel(items[1]!.id, '1', 1); // a model label: still worth a look
  const lease = await h.client.leaseReviewItems({ datasetId: dataset.id, actor: 'ann', limit: 10 });
  assert.deepEqual(
    lease.tasks.map((t) => t.item!.id),
    [items[1]!.id, items[2]!.id],
  );
  const report = await h.client.getActiveLearningReport({ datasetId: dataset.id });
  assert.deepEqual(report.queue, { uncertain: 2, audit: 0, suspectedLabelError: 0, leased: 2 });
});

test('a skipped task goes to the back of the queue, free for anyone', async () => {
  const { dataset, items } = await datasetWithItems(4, 600);
  for (const [i, item] of items.entries()) await plantTask(dataset.id, item.id, 'uncertain', i + 1);
  const ann = await h.client.leaseReviewItems({ datasetId: dataset.id, actor: 'ann', limit: 1 });
  assert.equal(ann.tasks[0]!.item!.id, items[0]!.id);
  const skipped = await answer(dataset.id, 'ann', [{ itemId: items[0]!.id, action: SKIP }]);
  assert.equal(skipped.results[0]!.accepted, true);
  const row = (await taskRow(items[0]!.id))!;
  assert.deepEqual([row.leased_by, row.skips, row.priority], [null, 1, 5]);
  assert.equal((await h.client.getItem({ itemId: items[0]!.id })).item!.labelVersion, 0);

  const bob = await h.client.leaseReviewItems({ datasetId: dataset.id, actor: 'bob', limit: 10 });
  assert.deepEqual(
    bob.tasks.map((t) => t.item!.id),
    [items[1]!.id, items[2]!.id, items[3]!.id, items[0]!.id],
  );
});

test('a suspected label error shows the label under suspicion; not-in-classes excludes the item and removes its label', async () => {
  const { dataset, items } = await datasetWithItems(2, 700);
  const [item, other] = items as [datasetV1.Item, datasetV1.Item];
  const labelled = (await humanLabel(item.id, '4')).item!;
  const job = await plantJob(dataset.id, 1);
  await plantPrediction(dataset.id, job, 1, item.id, probabilitiesFor(9, 0.97), 0);
  await plantTask(dataset.id, item.id, 'suspected_label_error', 0.5, 1, '4');
  await plantTask(dataset.id, other.id, 'uncertain', 1, 1);

  const { tasks } = await h.client.leaseReviewItems({ datasetId: dataset.id, actor: 'ann', limit: 2 });
  assert.equal(tasks[0]!.reason, SUSPECTED);
  assert.equal(tasks[0]!.currentLabel, '4');
  assert.equal(tasks[0]!.item!.label!.value, '4');
  assert.equal(tasks[0]!.suggestions[0]!.label, '9');

  const { results } = await answer(dataset.id, 'ann', [
    { itemId: item.id, action: NOT_IN_CLASSES },
    { itemId: other.id, action: NOT_IN_CLASSES },
  ]);
  assert.ok(results.every((r) => r.accepted));
  const excluded = (await h.client.getItem({ itemId: item.id })).item!;
  assert.equal(excluded.status, datasetV1.ItemStatus.ITEM_STATUS_EXCLUDED);
  assert.equal(excluded.label, undefined);
  assert.equal(excluded.labelVersion, labelled.labelVersion + 1);
  assert.deepEqual((await history(item.id)).at(-1), ['', HUMAN, 'ann', '']);
  assert.equal((await h.client.getItem({ itemId: other.id })).item!.status, datasetV1.ItemStatus.ITEM_STATUS_EXCLUDED);
  assert.equal(await taskRow(item.id), undefined);
  assert.equal(await taskRow(other.id), undefined);
  // The trusted counter the label held is released.
  const { rows } = await h.db.query<{ n: number }>(
    "SELECT train + validation + test AS n FROM dataset.class_split_counts WHERE dataset_id = $1 AND class = '4'",
    [dataset.id],
  );
  assert.equal(rows[0]!.n, 0);
});

test('audits are blind and scored against the model label', async () => {
  const { dataset, items } = await datasetWithItems(3, 800);
  const job = await plantJob(dataset.id, 1);
  for (const item of items) {
    await modelLabel(item.id, '2', 1);
    await plantPrediction(dataset.id, job, 1, item.id, probabilitiesFor(2, 0.999), 0.001);
  }
  for (const [i, item] of items.entries()) await plantTask(dataset.id, item.id, 'audit', i, 1, '2');

  const { tasks } = await h.client.leaseReviewItems({ datasetId: dataset.id, actor: 'ann', limit: 3 });
  assert.equal(tasks.length, 3);
  for (const task of tasks) {
    assert.equal(task.reason, AUDIT);
    assert.equal(task.item!.label, undefined, 'the model label is hidden');
    assert.equal(task.item!.status, datasetV1.ItemStatus.ITEM_STATUS_UNLABELLED);
    assert.deepEqual(task.suggestions, [], 'no suggestions on an audit');
    assert.equal(task.currentLabel, '');
    assert.equal(task.modelVersion, '1');
  }
  const { results } = await answer(dataset.id, 'ann', [
    { itemId: items[0]!.id, label: '2' },
    { itemId: items[1]!.id, label: '8' },
    { itemId: items[2]!.id, action: NOT_IN_CLASSES },
  ]);
  assert.ok(results.every((r) => r.accepted));
  const { rows } = await h.db.query<{ item_id: string; model_label: string; human_label: string; correct: boolean; actor: string }>(
    'SELECT item_id, model_label, human_label, correct, actor FROM dataset.audit_results WHERE dataset_id = $1',
    [dataset.id],
  );
  const byItem = new Map(rows.map((row) => [row.item_id, row]));
  assert.deepEqual(
    items.map((item) => {
      const row = byItem.get(item.id)!;
      return [row.model_label, row.human_label, row.correct, row.actor];
    }),
    [
      ['2', '2', true, 'ann'],
      ['2', '8', false, 'ann'],
      ['2', '', false, 'ann'],
    ],
  );
  // A confirmed model label becomes a human one, through the history.
  assert.deepEqual(await history(items[0]!.id), [
    ['2', MODEL, 'model:v1', '1'],
    ['2', HUMAN, 'ann', ''],
  ]);
  assert.equal((await h.client.getItem({ itemId: items[1]!.id })).item!.label!.value, '8');
});

test('a failed audit revokes the version’s remaining auto-labels into the front of the queue and halves the error scale once', async () => {
  const { dataset, items } = await datasetWithItems(12, 900);
  const job1 = await plantJob(dataset.id, 1);
  const job2 = await plantJob(dataset.id, 2, 'SUCCEEDED');
  const audited = items.slice(0, 4);
  const autoLabelled = items.slice(4, 9); // v2's other auto-labels
  const olderVersion = items[9]!; // v1's auto-label: untouched
  const humanConfirmed = items[10]!; // v2 label a curator overrode: untouched
  const queued = items[11]!;
  for (const [i, item] of [...audited, ...autoLabelled, humanConfirmed].entries()) {
    await modelLabel(item.id, '6', 2);
    await plantPrediction(dataset.id, job2, 2, item.id, probabilitiesFor(6, 0.99), i / 100);
  }
  await modelLabel(olderVersion.id, '6', 1);
  await plantPrediction(dataset.id, job1, 1, olderVersion.id, probabilitiesFor(6, 0.99), 0);
  await humanLabel(humanConfirmed.id, '6');
  for (const [i, item] of audited.entries()) await plantTask(dataset.id, item.id, 'audit', 10 + i, 2, '6');
  await plantTask(dataset.id, queued.id, 'uncertain', 1, 2);

  const lease = await h.client.leaseReviewItems({ datasetId: dataset.id, actor: 'ann', limit: 10 });
  assert.equal(lease.tasks.length, 5);
  const answerAudit = (item: datasetV1.Item, label: string) => answer(dataset.id, 'ann', [{ itemId: item.id, label }]);

  // 1 right, then 1 wrong of 2: the interval still allows ε = 2 % → pending, nothing happens.
  await answerAudit(audited[0]!, '6');
  await answerAudit(audited[1]!, '5');
  const v2Labels = async () =>
    (
      await h.db.query<{ n: number }>(
        "SELECT count(*) AS n FROM dataset.items WHERE dataset_id = $1 AND label_source = 'model' AND label_model_version = '2'",
        [dataset.id],
      )
    ).rows[0]!.n;
  assert.equal(await v2Labels(), 7);
  const errorScale = async () =>
    (await h.db.query<{ s: number }>('SELECT al_error_scale AS s FROM dataset.datasets WHERE id = $1', [dataset.id]))
      .rows[0]!.s;
  assert.equal(await errorScale(), 1);

  // 2 wrong of 3: the lower bound is above ε → failed.
  await answerAudit(audited[2]!, '5');
  assert.equal(await v2Labels(), 0, 'the version’s remaining model labels are gone');
  assert.equal(await errorScale(), 0.5);
  for (const item of autoLabelled) {
    const now = (await h.client.getItem({ itemId: item.id })).item!;
    assert.equal(now.label, undefined);
    assert.deepEqual((await history(item.id)).at(-1), ['', MODEL, 'audit:v2', '']);
  }
  assert.equal((await h.client.getItem({ itemId: olderVersion.id })).item!.label!.modelVersion, '1');
  assert.equal((await h.client.getItem({ itemId: humanConfirmed.id })).item!.label!.source, HUMAN);

  // Revoked items come first, best acquisition score first; the unanswered audit keeps its task.
  const bob = await h.client.leaseReviewItems({ datasetId: dataset.id, actor: 'bob', limit: 10 });
  assert.deepEqual(
    bob.tasks.map((t) => [t.item!.id, t.reason]),
    [...autoLabelled].reverse().map((item) => [item.id, UNCERTAIN]),
  );
  assert.equal((await taskRow(audited[3]!.id))!.reason, 'audit');
  assert.equal((await taskRow(queued.id))!.leased_by, 'ann');

  // Another wrong audit of the same version: recorded, but no second halving.
  await answerAudit(audited[3]!, '5');
  assert.equal(await errorScale(), 0.5);
  const failures = await h.db.query<{ revoked_labels: number; errors: number; audited: number }>(
    'SELECT revoked_labels, errors, audited FROM dataset.audit_failures WHERE dataset_id = $1',
    [dataset.id],
  );
  // The five auto-labels and the unanswered audit's label.
  assert.deepEqual(failures.rows, [{ revoked_labels: 6, errors: 2, audited: 3 }]);
  const auditCount = await h.db.query<{ n: number }>('SELECT count(*) AS n FROM dataset.audit_results WHERE dataset_id = $1', [
    dataset.id,
  ]);
  assert.equal(auditCount.rows[0]!.n, 4);
});

test('the report adds up a planted state; the gauges show the queue and the audited error', async () => {
  const { dataset, items } = await datasetWithItems(8, 1000);
  const decision = (version: number, poolItems: number, autoLabelled: number) => ({
    modelVersion: version,
    scope: autoLabelled > 0 ? 'global' : '',
    thresholds: autoLabelled > 0 ? [{ className: '', threshold: 0.97, accepted: 400, errors: 1, errorUpperBound: 0.015 }] : [],
    calibrationItems: 500,
    thresholdsTried: 20,
    targetError: 0.02,
    confidence: 0.95,
    autoLabelled,
    poolItems,
    auditItems: autoLabelled > 0 ? 10 : 0,
    suspectedLabelErrors: version,
    reason: autoLabelled > 0 ? '' : 'no threshold qualified',
  });
  await plantJob(dataset.id, 1, 'SUCCEEDED', decision(1, 1000, 0));
  await plantJob(dataset.id, 2, 'SUCCEEDED', decision(2, 900, 450));
  await plantJob(dataset.id, 3, 'RUNNING');
  // 8 audits of v2, 2 of them wrong (planted straight into audit_results).
  for (const [i, item] of items.entries()) {
    await h.db.query(
      `INSERT INTO dataset.audit_results (item_id, model_version, dataset_id, model_label, human_label, correct, actor)
       VALUES ($1, 2, $2, '1', $3, $4, 'ann')`,
      [item.id, dataset.id, i < 2 ? '7' : '1', i >= 2],
    );
  }
  for (const item of items.slice(4, 8)) await humanLabel(item.id, '3');
  await modelLabel(items[3]!.id, '3', 2);
  for (const [i, item] of items.entries()) {
    await plantTask(dataset.id, item.id, i < 4 ? 'uncertain' : i < 7 ? 'audit' : 'suspected_label_error', i);
  }
  await h.client.leaseReviewItems({ datasetId: dataset.id, actor: 'ann', limit: 2 });

  const report = await h.client.getActiveLearningReport({ datasetId: dataset.id });
  assert.deepEqual(
    report.versions.map((v) => [v.modelVersion, v.poolItems, v.autoLabelled, v.suspectedLabelErrors]),
    [
      [2, 900, 450, 2],
      [1, 1000, 0, 1],
    ],
  );
  const v2 = report.versions[0]!;
  assert.equal(v2.autoLabelCoverage, 0.5);
  const { lower, upper } = clopperPearsonInterval(2, 8, 0.05);
  assert.ok(lower > 0.02 && upper < 1);
  const { lowerBound, upperBound, ...counts } = v2.audit!;
  assert.deepEqual(counts, { modelVersion: 2, audited: 8, errors: 2, error: 0.25, verdict: 'failed' });
  assert.ok(Math.abs(lowerBound - lower) < 1e-9 && Math.abs(upperBound - upper) < 1e-9);
  assert.equal(v2.decision!.thresholds[0]!.threshold, 0.97);
  assert.equal(v2.decision!.reason, '');
  const v1 = report.versions[1]!;
  assert.equal(v1.autoLabelCoverage, 0);
  assert.deepEqual([v1.audit!.audited, v1.audit!.verdict, v1.audit!.lowerBound, v1.audit!.upperBound], [0, 'pending', 0, 1]);
  assert.equal(v1.decision!.reason, 'no threshold qualified');
  assert.deepEqual(report.queue, { uncertain: 4, audit: 3, suspectedLabelError: 1, leased: 2 });
  assert.deepEqual(
    report.labels.map((l) => [l.source, l.count]),
    [
      [HUMAN, 4],
      [MODEL, 1],
      [commonV1.LabelSource.LABEL_SOURCE_IMPORT, 0],
    ],
  );
  // The latest version's audit is conclusive (failed): 450 × (1 − its upper bound).
  assert.equal(report.estimatedLabelsSaved, Math.floor(450 * (1 - upperBound)));
  assert.equal(report.estimatedLabelsSaved, 157);

  const text = await h.registry.metrics();
  const line = (name: string, labels: string) =>
    text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  assert.match(line('labelloop_review_queue_depth', `dataset_id="${dataset.id}",reason="uncertain"`) ?? '', / 4$/);
  assert.match(line('labelloop_review_queue_depth', `dataset_id="${dataset.id}",reason="audit"`) ?? '', / 3$/);
  assert.match(
    line('labelloop_review_queue_depth', `dataset_id="${dataset.id}",reason="suspected_label_error"`) ?? '',
    / 1$/,
  );
  const bound = (name: string) =>
    Number(
      line('labelloop_autolabel_audited_error_ratio', `dataset_id="${dataset.id}",model_version="2",bound="${name}"`)
        ?.split(' ')
        .at(-1),
    );
  assert.equal(bound('estimate'), 0.25);
  assert.match(line('labelloop_autolabel_labels_saved', `dataset_id="${dataset.id}"`) ?? '', / 157$/, 'the report figure as a metric');
  assert.ok(Math.abs(bound('lower') - lower) < 1e-9);
  assert.ok(Math.abs(bound('upper') - upper) < 1e-9);

  // A dataset without audits yet: labels saved discount the pending audit by ε.
  const fresh = await datasetWithItems(1, 1100);
  await plantJob(fresh.dataset.id, 1, 'SUCCEEDED', decision(1, 200, 100));
  const freshReport = await h.client.getActiveLearningReport({ datasetId: fresh.dataset.id });
  assert.equal(freshReport.estimatedLabelsSaved, Math.floor(100 * (1 - 0.02)));
  assert.deepEqual(freshReport.queue, { uncertain: 0, audit: 0, suspectedLabelError: 0, leased: 0 });
  await expectStatus(h.client.getActiveLearningReport({ datasetId: randomUUID() }), Status.NOT_FOUND);
});

test('through a real scoring: a model whose blind audits fail loses its auto-labels, and its job is finalized again with the halved ε', async () => {
  // ε = 0.5 and half the labels in validation keep the numbers small: 10 calibration items all
  // right at 0.99 confidence bound the error by 1 − (0.05 / 16)^(1/10) ≈ 0.44 ≤ 0.5, so the pool is
  // auto-labelled; at ε = 0.25 the same ten are not enough (21 would be).
  const { dataset } = await h.client.createDataset({
    name: uniqueName('audit-loop'),
    classes: DIGITS,
    splits: { train: 0.5, validation: 0.5, test: 0 },
    activeLearning: { targetError: 0.5, auditShare: 0, auditMinimum: 6 },
  });
  const datasetId = dataset!.id;
  const images = await digits(3000, 120);
  const labelled = DIGITS.flatMap((digit) => images.filter((image) => image.label === digit).slice(0, 2));
  assert.equal(labelled.length, 20);
  const pool = images.filter((image) => !labelled.includes(image)).slice(0, 30);
  const truth = new Map<string, string>();
  for (const image of [...labelled, ...pool]) {
    const { item } = await h.client.uploadItem({
      datasetId,
      fileName: `${image.index}.png`,
      content: image.png,
      label: labelled.includes(image) ? image.label : '',
      actor: 'curator',
    });
    truth.set(item!.id, image.label);
  }

  // The scorer: right about every labelled item, confidently wrong about every pool item.
  const { job } = await h.client.beginScoring({
    datasetId,
    modelId: 'model-1',
    modelVersion: 1,
    artifactPrefix: `models/${datasetId}/1/`,
    shardSize: 100,
  });
  for (;;) {
    const { shard } = await h.client.claimScoringShard({ datasetId, worker: 'scorer', leaseSeconds: 60 });
    if (!shard) break;
    await h.client.recordPredictions({
      shardId: shard.id,
      worker: 'scorer',
      predictions: shard.items.map((entry, i) => {
        const label = Number(truth.get(entry.itemId));
        const pooled = entry.kind === datasetV1.ScoringKind.SCORING_KIND_POOL;
        return {
          itemId: entry.itemId,
          probabilities: probabilitiesFor(pooled ? (label + 1) % 10 : label, 0.99),
          acquisitionScore: i / 100,
          embedding: [],
        };
      }),
    });
  }
  const finished = (version: (j: datasetV1.ScoringJob) => boolean) =>
    eventually(async () => {
      const { job: now } = await h.client.getScoringJob({ jobId: job!.id });
      return now!.status === datasetV1.ScoringStatus.SCORING_STATUS_SUCCEEDED && version(now!) ? now! : undefined;
    }, 30_000, 'the scoring job to finish');
  const first = await finished(() => true);
  assert.equal(first.decision!.calibrationItems, 10);
  assert.equal(first.decision!.autoLabelled, 30);
  assert.equal(first.decision!.auditItems, 6);

  // The reviewer sees six blind audits and labels them from the truth: every one says the model was wrong.
  const { tasks } = await h.client.leaseReviewItems({ datasetId, actor: 'ann', limit: 10 });
  assert.equal(tasks.length, 6);
  assert.ok(tasks.every((t) => t.reason === AUDIT && t.item!.label === undefined && t.suggestions.length === 0));
  const answerTask = (t: datasetV1.ReviewTask) =>
    answer(datasetId, 'ann', [{ itemId: t.item!.id, label: truth.get(t.item!.id)! }]);
  for (const t of tasks.slice(0, 5)) assert.equal((await answerTask(t)).results[0]!.accepted, true);
  let report = await h.client.getActiveLearningReport({ datasetId });
  assert.deepEqual([report.versions[0]!.audit!.audited, report.versions[0]!.audit!.verdict], [5, 'pending']);
  assert.equal(report.labels.find((l) => l.source === MODEL)!.count, 25);

  // The sixth wrong audit: the lower bound passes ε → failed.
  await answerTask(tasks[5]!);
  const refinalized = await finished((j) => j.decision!.targetError === 0.25);
  assert.equal(refinalized.decision!.autoLabelled, 0, 'at the halved ε nothing qualifies');
  assert.notEqual(refinalized.decision!.reason, '');
  report = await h.client.getActiveLearningReport({ datasetId });
  assert.equal(report.labels.find((l) => l.source === MODEL)!.count, 0);
  assert.equal(report.labels.find((l) => l.source === HUMAN)!.count, 26);
  assert.deepEqual(
    [report.versions[0]!.audit!.audited, report.versions[0]!.audit!.errors, report.versions[0]!.audit!.verdict],
    [6, 6, 'failed'],
  );
  assert.equal(report.queue!.uncertain, 24, 'the revoked items are back in the queue');
  assert.equal(report.estimatedLabelsSaved, 0);
  const { rows } = await h.db.query<{ s: number }>('SELECT al_error_scale AS s FROM dataset.datasets WHERE id = $1', [
    datasetId,
  ]);
  assert.equal(rows[0]!.s, 0.5);
  const next = await h.client.leaseReviewItems({ datasetId, actor: 'bob', limit: 100 });
  assert.equal(next.tasks.length, 24);
  assert.ok(next.tasks.every((t) => t.reason === UNCERTAIN && t.item!.label === undefined));
  // Suggestions come from the model's prediction (wrong here, but shown).
  const t0 = next.tasks[0]!;
  assert.equal(t0.suggestions[0]!.label, String((Number(truth.get(t0.item!.id)) + 1) % 10));
});
