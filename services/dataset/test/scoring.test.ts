import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { commonV1, datasetV1 } from '@labelloop/proto';
import { createChannel, createClient, Status } from 'nice-grpc';
import { DatasetRepository } from '../src/adapters/dataset-repository.js';
import { noHooks } from '../src/adapters/hooks.js';
import { ItemRepository } from '../src/adapters/item-repository.js';
import { digits, eventually, expectStatus, mapLimit } from './support/fixtures.js';
import { startHarness, uniqueName, type DatasetClient, type Harness } from './support/harness.js';

// Active-learning settings, label removal and exclusion, and pool scoring through the real gRPC
// server: BeginScoring, ClaimScoringShard (leases, also concurrent), RecordPredictions
// (validation, replays) and the finalization that follows (thresholds, auto-labels, audits,
// suspected label errors, the review queue), which must be idempotent.

const { LABEL_SOURCE_HUMAN: HUMAN, LABEL_SOURCE_MODEL: MODEL } = commonV1.LabelSource;
const {
  SCORING_STATUS_RUNNING: RUNNING,
  SCORING_STATUS_SUCCEEDED: SUCCEEDED,
  SCORING_STATUS_SUPERSEDED: SUPERSEDED,
} = datasetV1.ScoringStatus;
const CLASSES = ['cat', 'dog'];

let h: Harness;
let items: ItemRepository;
before(async () => {
  h = await startHarness();
  items = new ItemRepository(h.db, new DatasetRepository(h.db, noHooks), noHooks);
});
after(async () => {
  await h?.close();
});

let imageOffset = 20_000;

async function datasetWithItems(count: number, settings: Partial<datasetV1.ActiveLearningSettings> = {}) {
  const { dataset } = await h.client.createDataset({
    name: uniqueName('scoring'),
    classes: CLASSES,
    splits: { train: 0.25, validation: 0.5, test: 0.25 },
    activeLearning: { strategy: 0, diversity: 0, ...settings },
  });
  const images = await digits(imageOffset, count);
  imageOffset += count;
  // One at a time, so ingestion order (and so shard order) is the array order.
  const uploaded = await mapLimit(images, 1, async (digit) => {
    const { item } = await h.client.uploadItem({
      datasetId: dataset!.id,
      fileName: `${digit.index}.png`,
      content: digit.png,
      label: '',
      actor: '',
    });
    return item!;
  });
  return { dataset: dataset!, items: uploaded };
}

function humanLabel(itemId: string, value: string) {
  return h.client.setLabel({ itemId, label: value, source: HUMAN, actor: 'curator', modelVersion: '' });
}

interface Planted {
  probabilities: number[];
  acquisitionScore: number;
}

/** [p(cat), p(dog)] with `predicted` at `confidence`. */
function probs(predicted: string, confidence: number): number[] {
  return predicted === 'cat' ? [confidence, 1 - confidence] : [1 - confidence, confidence];
}

/** Claims and records every shard of the dataset's running job with the planted predictions. */
async function scoreAll(datasetId: string, planted: ReadonlyMap<string, Planted>, client: DatasetClient = h.client) {
  for (;;) {
    const { shard } = await client.claimScoringShard({ datasetId, worker: 'scorer-1', leaseSeconds: 60 });
    if (!shard) return;
    await record(client, shard, 'scorer-1', planted);
  }
}

function record(
  client: DatasetClient,
  shard: datasetV1.ScoringShard,
  worker: string,
  planted: ReadonlyMap<string, Planted>,
) {
  return client.recordPredictions({
    shardId: shard.id,
    worker,
    predictions: shard.items.map((item) => {
      const p = planted.get(item.itemId) ?? { probabilities: [0.5, 0.5], acquisitionScore: 0 };
      return {
        itemId: item.itemId,
        probabilities: p.probabilities,
        acquisitionScore: p.acquisitionScore,
        embedding: [],
      };
    }),
  });
}

function finished(jobId: string) {
  return eventually(
    async () => {
      const { job } = await h.client.getScoringJob({ jobId });
      return job!.status === SUCCEEDED ? job! : undefined;
    },
    30_000,
    'the scoring job to succeed',
  );
}

/** Labels, label versions, history length and review tasks of a dataset: the state finalization writes. */
async function state(datasetId: string) {
  const labels = await h.db.query<{
    id: string;
    label: string | null;
    label_source: string | null;
    label_model_version: string | null;
    label_version: number;
  }>(
    `SELECT id, label, label_source, label_model_version, label_version FROM dataset.items WHERE dataset_id = $1 ORDER BY id`,
    [datasetId],
  );
  const history = await h.db.query<{ n: number }>(
    `SELECT count(*) AS n FROM dataset.item_labels l JOIN dataset.items i ON i.id = l.item_id WHERE i.dataset_id = $1`,
    [datasetId],
  );
  const tasks = await h.db.query<{
    item_id: string;
    reason: string;
    priority: number;
    subject_label: string | null;
    model_version: number;
  }>(
    `SELECT item_id, reason, priority, subject_label, model_version FROM dataset.review_tasks
      WHERE dataset_id = $1 ORDER BY priority, item_id`,
    [datasetId],
  );
  const predictions = await h.db.query(
    `SELECT item_id, model_version, predicted, confidence, probabilities, acquisition_score, created_at
       FROM dataset.predictions WHERE dataset_id = $1 ORDER BY item_id, model_version`,
    [datasetId],
  );
  return { labels: labels.rows, history: history.rows[0]!.n, tasks: tasks.rows, predictions: predictions.rows };
}

test('active-learning settings: defaults, partial create, validated updates that keep the error scale', async () => {
  const { dataset } = await h.client.createDataset({ name: uniqueName('al-settings'), classes: CLASSES });
  assert.deepEqual(dataset!.activeLearning, {
    targetError: 0.02,
    confidence: 0.95,
    strategy: datasetV1.AcquisitionStrategy.ACQUISITION_STRATEGY_MARGIN,
    diversity: datasetV1.Diversity.DIVERSITY_NONE,
    mcSamples: 20,
    auditShare: 0.02,
    auditMinimum: 10,
    leaseSeconds: 300,
    autoLabel: true,
  });
  const custom = await h.client.createDataset({
    name: uniqueName('al-settings'),
    classes: CLASSES,
    activeLearning: {
      targetError: 0.05,
      strategy: datasetV1.AcquisitionStrategy.ACQUISITION_STRATEGY_BALD,
      diversity: datasetV1.Diversity.DIVERSITY_K_CENTER,
      autoLabel: false,
    },
  });
  assert.equal(custom.dataset!.activeLearning!.targetError, 0.05);
  assert.equal(custom.dataset!.activeLearning!.strategy, datasetV1.AcquisitionStrategy.ACQUISITION_STRATEGY_BALD);
  assert.equal(custom.dataset!.activeLearning!.diversity, datasetV1.Diversity.DIVERSITY_K_CENTER);
  assert.equal(custom.dataset!.activeLearning!.autoLabel, false);
  assert.equal(custom.dataset!.activeLearning!.confidence, 0.95);

  const bad = await expectStatus(
    h.client.createDataset({
      name: uniqueName('al-settings'),
      classes: CLASSES,
      activeLearning: { strategy: 0, diversity: 0, mcSamples: 1 },
    }),
    Status.INVALID_ARGUMENT,
  );
  assert.match(bad.details, /mc_samples/);

  await h.db.query('UPDATE dataset.datasets SET al_error_scale = 0.5 WHERE id = $1', [dataset!.id]);
  const updated = await h.client.updateActiveLearningSettings({
    datasetId: dataset!.id,
    settings: {
      confidence: 0.9,
      strategy: datasetV1.AcquisitionStrategy.ACQUISITION_STRATEGY_ENTROPY,
      diversity: 0,
      leaseSeconds: 60,
    },
  });
  assert.equal(updated.dataset!.activeLearning!.confidence, 0.9);
  assert.equal(updated.dataset!.activeLearning!.leaseSeconds, 60);
  assert.equal(updated.dataset!.activeLearning!.targetError, 0.02, 'unset: the default');
  const got = await h.client.getDataset({ datasetId: dataset!.id });
  assert.deepEqual(got.dataset!.activeLearning, updated.dataset!.activeLearning);
  const { rows } = await h.db.query<{ al_error_scale: number }>(
    'SELECT al_error_scale FROM dataset.datasets WHERE id = $1',
    [dataset!.id],
  );
  assert.equal(rows[0]!.al_error_scale, 0.5, 'the error scale is the audits’, not the caller’s');

  for (const [settings, field] of [
    [{ targetError: 0.6 }, 'target_error'],
    [{ confidence: 1 }, 'confidence'],
    [{ auditShare: 2 }, 'audit_share'],
    [{ leaseSeconds: 3 }, 'lease_seconds'],
    [{ strategy: 99 as datasetV1.AcquisitionStrategy }, 'strategy'],
  ] as const) {
    const err = await expectStatus(
      h.client.updateActiveLearningSettings({
        datasetId: dataset!.id,
        settings: { strategy: 0, diversity: 0, ...settings },
      }),
      Status.INVALID_ARGUMENT,
    );
    assert.match(err.details, new RegExp(field));
  }
  await expectStatus(
    h.client.updateActiveLearningSettings({ datasetId: '00000000-0000-4000-8000-000000000000', settings: undefined }),
    Status.NOT_FOUND,
  );
});

test('label removal and exclusion go through the history; trusted counters are released', async () => {
  const {
    dataset,
    items: [a, b, c],
  } = await datasetWithItems(3);
  const labelled = await humanLabel(a!.id, 'cat');
  const split = labelled.item!.split;
  const counter = async () => {
    const { rows } = await h.db.query<Record<string, number>>(
      'SELECT train, validation, test FROM dataset.class_split_counts WHERE dataset_id = $1 AND class = $2',
      [dataset.id, 'cat'],
    );
    return rows[0]!;
  };
  const column = (
    {
      [commonV1.Split.SPLIT_TRAIN]: 'train',
      [commonV1.Split.SPLIT_VALIDATION]: 'validation',
      [commonV1.Split.SPLIT_TEST]: 'test',
    } as Record<number, string>
  )[split]!;
  assert.equal((await counter())[column], 1);

  const removed = await items.removeLabel(a!.id, { actor: 'reviewer', source: 'human' });
  assert.equal(removed.changed, true);
  assert.equal(removed.item.label, null);
  assert.equal(removed.item.split, null);
  assert.equal(removed.item.labelVersion, 2);
  assert.equal((await counter())[column], 0, 'the trusted counter is released');
  const events = (await h.client.listLabelHistory({ itemId: a!.id })).events;
  assert.deepEqual(
    events.map((e) => [e.value, e.actor, e.version]),
    [
      ['cat', 'curator', 1],
      ['', 'reviewer', 2],
    ],
  );
  assert.equal(
    (await items.removeLabel(a!.id, { actor: 'reviewer', source: 'human' })).changed,
    false,
    'nothing to remove',
  );

  // A model label, then "not in classes".
  await h.client.setLabel({
    itemId: b!.id,
    label: 'dog',
    source: MODEL,
    actor: 'model:v1',
    modelVersion: '1',
    confidence: 0.99,
  });
  const excluded = await items.excludeItem(b!.id, 'reviewer');
  assert.equal(excluded.changed, true);
  assert.ok(excluded.item.excludedAt);
  assert.equal(excluded.item.label, null);
  assert.equal((await items.excludeItem(b!.id, 'reviewer')).changed, false);
  assert.equal((await items.excludeItem(c!.id, 'reviewer')).changed, true, 'an unlabelled item is excluded too');
  assert.equal((await h.client.getItem({ itemId: b!.id })).item!.status, datasetV1.ItemStatus.ITEM_STATUS_EXCLUDED);
  const last = (await h.client.listLabelHistory({ itemId: b!.id })).events.at(-1)!;
  assert.deepEqual([last.value, last.actor, last.source], ['', 'reviewer', HUMAN]);

  const stats = (await h.client.getDataset({ datasetId: dataset.id })).statistics!;
  assert.deepEqual(stats.byStatus, { unlabelled: 1, labelled: 0, excluded: 2 });
  const list = async (status: datasetV1.ItemStatus) =>
    (
      await h.client.listItems({ datasetId: dataset.id, status, label: '', split: 0, source: 0, limit: 0, cursor: '' })
    ).items.map((item) => item.id);
  assert.deepEqual((await list(datasetV1.ItemStatus.ITEM_STATUS_EXCLUDED)).sort(), [b!.id, c!.id].sort());
  assert.deepEqual(await list(datasetV1.ItemStatus.ITEM_STATUS_UNLABELLED), [a!.id]);
  assert.deepEqual(await list(datasetV1.ItemStatus.ITEM_STATUS_LABELLED), []);

  // Models may not label an excluded item; a person who labels it brings it back.
  await expectStatus(
    h.client.setLabel({
      itemId: c!.id,
      label: 'dog',
      source: MODEL,
      actor: 'model:v1',
      modelVersion: '1',
      confidence: 0.9,
    }),
    Status.FAILED_PRECONDITION,
  );
  const back = await humanLabel(c!.id, 'dog');
  assert.equal(back.item!.status, datasetV1.ItemStatus.ITEM_STATUS_LABELLED);
});

test('BeginScoring validates, is idempotent per version and supersedes older unfinished jobs', async () => {
  const { dataset, items: all } = await datasetWithItems(5);
  const begin = (version: number, extra: Partial<datasetV1.BeginScoringRequest> = {}) =>
    h.client.beginScoring({
      datasetId: dataset.id,
      modelId: `m${version}`,
      modelVersion: version,
      artifactPrefix: `models/${dataset.id}/${version}/`,
      shardSize: 2,
      ...extra,
    });
  await expectStatus(begin(0), Status.INVALID_ARGUMENT);
  await expectStatus(begin(1, { modelId: '' }), Status.INVALID_ARGUMENT);
  await expectStatus(begin(1, { artifactPrefix: '' }), Status.INVALID_ARGUMENT);
  await expectStatus(begin(1, { shardSize: 100_000 }), Status.INVALID_ARGUMENT);
  await expectStatus(begin(1, { datasetId: '00000000-0000-4000-8000-000000000000' }), Status.NOT_FOUND);

  await items.excludeItem(all[4]!.id, 'reviewer');
  const first = await begin(1);
  assert.equal(first.created, true);
  assert.equal(first.job!.status, RUNNING);
  assert.equal(first.job!.shardsTotal, 2, '4 items not excluded, 2 a shard');
  assert.equal(first.job!.itemsTotal, 4);
  const again = await begin(1);
  assert.equal(again.created, false);
  assert.equal(again.job!.id, first.job!.id);

  const { shard } = await h.client.claimScoringShard({ datasetId: dataset.id, worker: 'w', leaseSeconds: 0 });
  assert.equal(shard!.jobId, first.job!.id);
  assert.equal(shard!.modelVersion, 1);
  assert.equal(shard!.strategy, datasetV1.AcquisitionStrategy.ACQUISITION_STRATEGY_MARGIN);
  assert.equal(shard!.embeddings, false);
  assert.deepEqual(
    shard!.items.map((i) => i.itemId),
    [all[0]!.id, all[1]!.id],
  );
  assert.ok(shard!.items.every((i) => i.kind === datasetV1.ScoringKind.SCORING_KIND_POOL));
  assert.equal(shard!.items[0]!.sha256, all[0]!.sha256);

  const second = await begin(2);
  assert.equal(second.created, true);
  const old = (await h.client.getScoringJob({ jobId: first.job!.id })).job!;
  assert.equal(old.status, SUPERSEDED);
  assert.match(old.failureReason, /version 2/);
  // The old job's shard cannot be recorded any more: recorded false, nothing stored.
  const late = await h.client.recordPredictions({
    shardId: shard!.id,
    worker: 'w',
    predictions: shard!.items.map((i) => ({
      itemId: i.itemId,
      probabilities: [0.5, 0.5],
      acquisitionScore: 0,
      embedding: [],
    })),
  });
  assert.equal(late.recorded, false);
  assert.equal(late.job!.status, SUPERSEDED);
  const claimed = await h.client.claimScoringShard({ datasetId: dataset.id, worker: 'w', leaseSeconds: 0 });
  assert.equal(claimed.shard!.jobId, second.job!.id, 'only the newest job hands out shards');

  // A promotion event that arrives late: recorded as superseded, never scored.
  const stale = await h.client.beginScoring({
    datasetId: dataset.id,
    modelId: 'm0',
    modelVersion: 1,
    artifactPrefix: 'x/',
    shardSize: 0,
  });
  assert.equal(stale.created, false);
  await h.db.query('DELETE FROM dataset.scoring_shards WHERE job_id = $1', [first.job!.id]);
  await h.db.query('DELETE FROM dataset.scoring_jobs WHERE id = $1', [first.job!.id]);
  const older = await h.client.beginScoring({
    datasetId: dataset.id,
    modelId: 'm1',
    modelVersion: 1,
    artifactPrefix: 'x/',
    shardSize: 0,
  });
  assert.equal(older.created, true);
  assert.equal(older.job!.status, SUPERSEDED);
  assert.equal(older.job!.shardsTotal, 0);

  const jobs = await h.client.listScoringJobs({ datasetId: dataset.id, limit: 0 });
  assert.deepEqual(
    jobs.jobs.map((j) => j.modelVersion),
    [2, 1],
    'newest first',
  );
});

test('RecordPredictions validates the lease and the predictions; a replay changes nothing', async () => {
  const { dataset } = await datasetWithItems(4);
  const { job } = await h.client.beginScoring({
    datasetId: dataset.id,
    modelId: 'm',
    modelVersion: 1,
    artifactPrefix: 'p/',
    shardSize: 2,
  });
  await expectStatus(
    h.client.claimScoringShard({ datasetId: dataset.id, worker: '', leaseSeconds: 0 }),
    Status.INVALID_ARGUMENT,
  );
  await expectStatus(
    h.client.claimScoringShard({ datasetId: dataset.id, worker: 'w', leaseSeconds: 99_999 }),
    Status.INVALID_ARGUMENT,
  );
  const { shard } = await h.client.claimScoringShard({ datasetId: dataset.id, worker: 'w1', leaseSeconds: 60 });
  const [x, y] = shard!.items.map((i) => i.itemId);
  const call = (predictions: Array<Partial<datasetV1.ItemPrediction>>, worker = 'w1', shardId = shard!.id) =>
    h.client.recordPredictions({
      shardId,
      worker,
      predictions: predictions.map((p) => ({
        itemId: x!,
        probabilities: [0.7, 0.3],
        acquisitionScore: 0.6,
        embedding: [],
        ...p,
      })),
    });

  await expectStatus(call([{}], 'w2'), Status.FAILED_PRECONDITION);
  await expectStatus(call([{}], 'w1', '00000000-0000-4000-8000-000000000000'), Status.NOT_FOUND);
  for (const bad of [
    [{ itemId: '00000000-0000-4000-8000-000000000000' }],
    [{ probabilities: [1] }],
    [{ probabilities: [Number.NaN, 0.5] }],
    [{ probabilities: [0.9, 0.9] }],
    [{ acquisitionScore: Number.POSITIVE_INFINITY }],
    [{}, {}],
  ]) {
    await expectStatus(call(bad), Status.INVALID_ARGUMENT);
  }
  const { rows: none } = await h.db.query('SELECT 1 FROM dataset.predictions WHERE job_id = $1', [job!.id]);
  assert.equal(none.length, 0, 'a refused call stores nothing');

  const ok = await call([{}, { itemId: y!, probabilities: [0.2, 0.8], acquisitionScore: 0.4 }]);
  assert.equal(ok.recorded, true);
  assert.equal(ok.job!.shardsDone, 1);
  assert.equal(ok.job!.itemsScored, 2);
  const before = await state(dataset.id);
  const replay = await call([{ probabilities: [0.1, 0.9] }]);
  assert.equal(replay.recorded, false);
  assert.equal(replay.job!.shardsDone, 1);
  assert.deepEqual(await state(dataset.id), before, 'a done shard recorded again changes nothing');
  const stored = before.predictions.find((p) => p.item_id === x) as {
    predicted: string;
    confidence: number;
    probabilities: number[];
  };
  assert.equal(stored.predicted, 'cat');
  assert.ok(Math.abs(stored.confidence - 0.7) < 1e-6);
});

test('concurrent claims never hand out the same shard; an expired lease is reclaimed', async () => {
  const { dataset } = await datasetWithItems(24);
  const { job } = await h.client.beginScoring({
    datasetId: dataset.id,
    modelId: 'm',
    modelVersion: 1,
    artifactPrefix: 'p/',
    shardSize: 2,
  });
  assert.equal(job!.shardsTotal, 12);
  // Eight clients on their own channels, claiming at once until nothing is left.
  const channels = Array.from({ length: 8 }, () => createChannel(`127.0.0.1:${h.port}`));
  try {
    const clients = channels.map((channel) => createClient(datasetV1.DatasetServiceDefinition, channel));
    const claimed = await Promise.all(
      clients.map(async (client, i) => {
        const mine: string[] = [];
        for (;;) {
          const { shard } = await client.claimScoringShard({
            datasetId: dataset.id,
            worker: `w${i}`,
            leaseSeconds: 60,
          });
          if (!shard) return mine;
          mine.push(shard.id);
        }
      }),
    );
    const all = claimed.flat();
    assert.equal(all.length, 12);
    assert.equal(new Set(all).size, 12, 'no shard leased twice');
  } finally {
    for (const channel of channels) channel.close();
  }

  // Every lease is held: nothing to claim. Let one expire: it is claimable again, attempts + 1.
  assert.equal(
    (await h.client.claimScoringShard({ datasetId: dataset.id, worker: 'late', leaseSeconds: 60 })).shard,
    undefined,
  );
  const { rows } = await h.db.query<{ id: string; lease_owner: string }>(
    'SELECT id, lease_owner FROM dataset.scoring_shards WHERE job_id = $1 ORDER BY ordinal LIMIT 2',
    [job!.id],
  );
  const [expired, lapsed] = rows;
  await h.db.query(
    "UPDATE dataset.scoring_shards SET lease_expires_at = now() - interval '1 second' WHERE id = ANY($1::uuid[])",
    [[expired!.id, lapsed!.id]],
  );
  const first = await h.client.claimScoringShard({ datasetId: dataset.id, worker: 'rescuer', leaseSeconds: 60 });
  assert.equal(first.shard!.id, expired!.id);
  const { rows: attempts } = await h.db.query<{ attempts: number }>(
    'SELECT attempts FROM dataset.scoring_shards WHERE id = $1',
    [expired!.id],
  );
  assert.equal(attempts[0]!.attempts, 2);
  const predictions = (shard: datasetV1.ScoringShard) =>
    shard.items.map((i) => ({ itemId: i.itemId, probabilities: [0.5, 0.5], acquisitionScore: 0, embedding: [] }));
  // The first holder lost it.
  await expectStatus(
    h.client.recordPredictions({
      shardId: expired!.id,
      worker: expired!.lease_owner,
      predictions: predictions(first.shard!),
    }),
    Status.FAILED_PRECONDITION,
  );
  assert.equal(
    (
      await h.client.recordPredictions({
        shardId: expired!.id,
        worker: 'rescuer',
        predictions: predictions(first.shard!),
      })
    ).recorded,
    true,
  );
  // An expired lease nobody re-claimed still lets its holder record.
  const shardItems = await h.db.query<{ item_ids: string[] }>(
    'SELECT item_ids FROM dataset.scoring_shards WHERE id = $1',
    [lapsed!.id],
  );
  const lapsedRecord = await h.client.recordPredictions({
    shardId: lapsed!.id,
    worker: lapsed!.lease_owner,
    predictions: shardItems.rows[0]!.item_ids.map((itemId) => ({
      itemId,
      probabilities: [0.5, 0.5],
      acquisitionScore: 0,
      embedding: [],
    })),
  });
  assert.equal(lapsedRecord.recorded, true);
});

test('finalization: threshold, auto-labels, audits, suspected errors, queue; idempotent; a newer model withdraws labels', async () => {
  // 80 human labels (ratios 0.25 / 0.5 / 0.25: 40 calibration items) and 60 pool items.
  const { dataset, items: all } = await datasetWithItems(140, {
    targetError: 0.2,
    auditShare: 0.25,
    auditMinimum: 3,
  });
  const labelled = await mapLimit(all.slice(0, 80), 8, async (item) => {
    const index = all.indexOf(item);
    return (await humanLabel(item.id, index % 2 ? 'dog' : 'cat')).item!;
  });
  const bySplit = (split: commonV1.Split) => labelled.filter((item) => item.split === split);
  const calibration = bySplit(commonV1.Split.SPLIT_VALIDATION);
  const trainTest = labelled.filter((item) => item.split !== commonV1.Split.SPLIT_VALIDATION);
  assert.equal(calibration.length, 40);
  const pool = all.slice(80);

  const planted = new Map<string, Planted>();
  // Calibration: 30 right at 0.97, 10 wrong at 0.6 → the lowest qualifying threshold is 0.65.
  calibration.forEach((item, i) => {
    const truth = item.label!.value;
    const other = truth === 'cat' ? 'dog' : 'cat';
    planted.set(item.id, { probabilities: i < 30 ? probs(truth, 0.97) : probs(other, 0.6), acquisitionScore: 0 });
  });
  // Train/test: agreeing, except two contradicted with high confidence (suspected label errors).
  const suspects = trainTest.slice(0, 2);
  trainTest.forEach((item) => {
    const truth = item.label!.value;
    const other = truth === 'cat' ? 'dog' : 'cat';
    planted.set(item.id, {
      probabilities: suspects.includes(item) ? probs(other, 0.99) : probs(truth, 0.95),
      acquisitionScore: 0,
    });
  });
  // Pool: 20 accepted (0.9), 40 not (0.6, scores spread so the queue order is known).
  const accepted = pool.slice(0, 20);
  const uncertain = pool.slice(20);
  accepted.forEach((item, i) =>
    planted.set(item.id, { probabilities: probs(i % 2 ? 'dog' : 'cat', 0.9), acquisitionScore: 0.1 }),
  );
  uncertain.forEach((item, i) =>
    planted.set(item.id, { probabilities: probs('cat', 0.6), acquisitionScore: ((i * 7) % 40) / 40 }),
  );
  // One accepted pool item is excluded before scoring, one after its shard was recorded.
  await items.excludeItem(accepted[19]!.id, 'reviewer');

  const { job } = await h.client.beginScoring({
    datasetId: dataset.id,
    modelId: 'm1',
    modelVersion: 1,
    artifactPrefix: 'p/1/',
    shardSize: 16,
  });
  assert.equal(job!.itemsTotal, 139);
  assert.equal(job!.shardsTotal, 9);
  const shards: datasetV1.ScoringShard[] = [];
  for (let i = 0; i < 9; i++) {
    shards.push(
      (await h.client.claimScoringShard({ datasetId: dataset.id, worker: 'scorer-1', leaseSeconds: 60 })).shard!,
    );
  }
  const firstShard = shards[0]!;
  assert.ok(shards.slice(0, 8).some((shard) => shard.items.some((i) => i.itemId === accepted[18]!.id)));
  for (const shard of shards.slice(0, 8))
    assert.equal((await record(h.client, shard, 'scorer-1', planted)).recorded, true);
  // Excluded after its prediction was recorded: finalization leaves it alone all the same.
  await items.excludeItem(accepted[18]!.id, 'reviewer');
  await record(h.client, shards[8]!, 'scorer-1', planted);
  const done = await finished(job!.id);

  const decision = done.decision!;
  assert.equal(decision.scope, 'global');
  assert.equal(decision.thresholds[0]!.threshold, 0.65);
  assert.equal(decision.thresholds[0]!.accepted, 30);
  assert.equal(decision.thresholds[0]!.errors, 0);
  assert.equal(decision.calibrationItems, 40);
  assert.equal(decision.targetError, 0.2);
  assert.equal(decision.confidence, 0.95);
  assert.equal(decision.poolItems, 58, '60 pool items less the two excluded');
  assert.equal(decision.autoLabelled, 18);
  assert.equal(decision.reason, '');
  assert.equal(decision.suspectedLabelErrors, 2);
  const expectedAudits = Math.min(18, Math.max(Math.ceil(0.25 * 18), 3));
  assert.equal(decision.auditItems, expectedAudits);

  for (const item of accepted.slice(0, 18)) {
    const { item: got } = await h.client.getItem({ itemId: item.id });
    assert.equal(got!.label!.source, MODEL);
    assert.equal(got!.label!.modelVersion, '1');
    assert.equal(got!.label!.actor, 'model:v1');
    assert.ok(Math.abs(got!.label!.confidence! - 0.9) < 1e-6);
    assert.equal(got!.label!.value, accepted.indexOf(item) % 2 ? 'dog' : 'cat');
    assert.equal(got!.split, commonV1.Split.SPLIT_TRAIN);
  }
  for (const item of [accepted[18]!, accepted[19]!]) {
    const { item: got } = await h.client.getItem({ itemId: item.id });
    assert.equal(got!.status, datasetV1.ItemStatus.ITEM_STATUS_EXCLUDED, 'excluded items are never auto-labelled');
  }
  for (const item of labelled) {
    const { item: got } = await h.client.getItem({ itemId: item.id });
    assert.deepEqual([got!.label!.source, got!.labelVersion], [HUMAN, 1], 'human labels are never touched');
  }

  let s = await state(dataset.id);
  const tasksOf = (reason: string) => s.tasks.filter((t) => t.reason === reason);
  assert.equal(tasksOf('audit').length, expectedAudits);
  for (const task of tasksOf('audit')) {
    assert.ok(accepted.slice(0, 18).some((item) => item.id === task.item_id));
    const label = s.labels.find((l) => l.id === task.item_id)!;
    assert.equal(task.subject_label, label.label, 'the audit subject is the model label');
    assert.equal(task.model_version, 1);
  }
  assert.deepEqual(
    tasksOf('suspected_label_error')
      .map((t) => [t.item_id, t.subject_label])
      .sort(),
    suspects.map((item) => [item.id, item.label!.value]).sort(),
  );
  // The uncertain queue: the 40 unaccepted pool items, highest acquisition score first.
  const queue = tasksOf('uncertain');
  assert.equal(queue.length, 40);
  const scoreOf = (id: string) => planted.get(id)!.acquisitionScore;
  for (let i = 1; i < queue.length; i++) {
    assert.ok(scoreOf(queue[i - 1]!.item_id) >= scoreOf(queue[i]!.item_id), 'ordered by score');
  }
  assert.deepEqual(
    queue.map((t) => t.priority),
    Array.from({ length: 40 }, (_, r) => r),
  );
  const special = s.tasks.filter((t) => t.reason !== 'uncertain').map((t) => t.priority);
  assert.deepEqual(
    special,
    Array.from({ length: special.length }, (_, r) => 5 * r + 2.5),
  );
  assert.ok(
    !s.tasks.some((t) => t.item_id === accepted[18]!.id || t.item_id === accepted[19]!.id),
    'no task for excluded items',
  );

  // Exports and the trainer's listing (labelled items) leave excluded items out; model labels are in.
  const listed = await h.client.listItems({
    datasetId: dataset.id,
    status: datasetV1.ItemStatus.ITEM_STATUS_LABELLED,
    label: '',
    split: 0,
    source: 0,
    limit: 1000,
    cursor: '',
  });
  assert.equal(listed.items.length, 80 + 18);

  // Finalizing the same job again (after a restart, or an audit) changes nothing.
  await h.db.query("UPDATE dataset.scoring_jobs SET status = 'FINALIZING' WHERE id = $1", [job!.id]);
  const other = await h.startAnotherServer();
  try {
    assert.equal(await other.server.scoring.resumeUnfinished(), 1);
    await other.server.scoring.whenIdle();
  } finally {
    await other.close();
  }
  const resumed = (await h.client.getScoringJob({ jobId: job!.id })).job!;
  assert.equal(resumed.status, SUCCEEDED);
  assert.deepEqual(resumed.decision, decision);
  assert.deepEqual(await state(dataset.id), s, 'same labels, versions, history and tasks');
  const refinalized = await h.server.scoring.refinalizeLatest(dataset.id);
  assert.equal(refinalized!.id, job!.id);
  assert.deepEqual(await state(dataset.id), s);

  // Scoring the same model version again is the same job; recording a done shard is a replay.
  assert.equal(
    (
      await h.client.beginScoring({
        datasetId: dataset.id,
        modelId: 'm1',
        modelVersion: 1,
        artifactPrefix: 'p/1/',
        shardSize: 16,
      })
    ).created,
    false,
  );
  assert.equal(
    (await h.client.claimScoringShard({ datasetId: dataset.id, worker: 'scorer-1', leaseSeconds: 60 })).shard,
    undefined,
  );
  assert.equal((await record(h.client, firstShard!, 'scorer-1', planted)).recorded, false);
  assert.deepEqual(await state(dataset.id), s);

  // Version 2: the first 10 accepted items now fall under the threshold and lose their labels;
  // the next 8 are accepted again (now as version 2's labels).
  accepted
    .slice(0, 10)
    .forEach((item) => planted.set(item.id, { probabilities: probs('dog', 0.6), acquisitionScore: 0.99 }));
  const second = await h.client.beginScoring({
    datasetId: dataset.id,
    modelId: 'm2',
    modelVersion: 2,
    artifactPrefix: 'p/2/',
    shardSize: 16,
  });
  await scoreAll(dataset.id, planted);
  const v2 = await finished(second.job!.id);
  assert.equal(v2.decision!.autoLabelled, 8);
  for (const item of accepted.slice(0, 10)) {
    const { item: got } = await h.client.getItem({ itemId: item.id });
    assert.equal(got!.label, undefined, 'withdrawn');
    assert.equal(got!.split, commonV1.Split.SPLIT_UNSPECIFIED);
    const last = (await h.client.listLabelHistory({ itemId: item.id })).events.at(-1)!;
    assert.deepEqual([last.value, last.actor, last.source, last.version], ['', 'model:v2', MODEL, 2]);
  }
  for (const item of accepted.slice(10, 18)) {
    const { item: got } = await h.client.getItem({ itemId: item.id });
    assert.deepEqual([got!.label!.modelVersion, got!.label!.actor, got!.labelVersion], ['2', 'model:v2', 2]);
  }
  s = await state(dataset.id);
  const queue2 = s.tasks.filter((t) => t.reason === 'uncertain');
  assert.equal(queue2.length, 50, 'the 40 and the 10 withdrawn');
  assert.deepEqual(
    new Set(queue2.slice(0, 10).map((t) => t.item_id)),
    new Set(accepted.slice(0, 10).map((item) => item.id)),
    'the highest scores come first',
  );
  assert.ok(queue2.every((t) => t.model_version === 2));

  // Auto-labelling switched off: finalizing again withdraws version 2's labels and says why.
  await h.client.updateActiveLearningSettings({
    datasetId: dataset.id,
    settings: { targetError: 0.2, auditShare: 0.25, auditMinimum: 3, autoLabel: false, strategy: 0, diversity: 0 },
  });
  const off = await h.server.scoring.refinalizeLatest(dataset.id);
  assert.equal(off!.decision!.autoLabelled, 0);
  assert.match(off!.decision!.reason, /auto-labelling is off/);
  const modelLabelled = await h.client.listItems({
    datasetId: dataset.id,
    status: 0,
    label: '',
    split: 0,
    source: MODEL,
    limit: 1000,
    cursor: '',
  });
  assert.equal(modelLabelled.items.length, 0);

  // Coverage and target error metrics.
  const metrics = await h.registry.metrics();
  assert.match(
    metrics,
    new RegExp(
      `labelloop_autolabel_coverage_ratio\\{[^}]*dataset_id="${dataset.id}",model_version="1"[^}]*\\} ${18 / 58}`,
    ),
  );
  assert.match(
    metrics,
    new RegExp(`labelloop_autolabel_target_error_ratio\\{[^}]*dataset_id="${dataset.id}"[^}]*\\} 0.2`),
  );
});

test('no qualifying threshold: nothing is auto-labelled, the reason is stored, the pool is queued', async () => {
  const { dataset, items: all } = await datasetWithItems(14);
  const labelled = await mapLimit(all.slice(0, 8), 4, async (item) => (await humanLabel(item.id, 'cat')).item!);
  const planted = new Map<string, Planted>();
  for (const item of all) planted.set(item.id, { probabilities: probs('cat', 0.999), acquisitionScore: 0.5 });
  const { job } = await h.client.beginScoring({
    datasetId: dataset.id,
    modelId: 'm',
    modelVersion: 1,
    artifactPrefix: 'p/',
    shardSize: 0,
  });
  await scoreAll(dataset.id, planted);
  const done = await finished(job!.id);
  assert.equal(done.decision!.scope, '');
  assert.equal(done.decision!.autoLabelled, 0);
  assert.equal(done.decision!.auditItems, 0);
  assert.ok(done.decision!.calibrationItems < 8);
  assert.match(done.decision!.reason, /no threshold keeps the error bound/);
  const s = await state(dataset.id);
  assert.equal(s.labels.filter((l) => l.label_source === 'model').length, 0);
  assert.deepEqual(
    new Set(s.tasks.filter((t) => t.reason === 'uncertain').map((t) => t.item_id)),
    new Set(all.slice(8).map((item) => item.id)),
  );
  assert.equal(labelled.length, 8);
});

test('k-center diversity: shards ask for embeddings and the queue spreads over them', async () => {
  const { dataset, items: all } = await datasetWithItems(16, {
    strategy: datasetV1.AcquisitionStrategy.ACQUISITION_STRATEGY_BALD,
    diversity: datasetV1.Diversity.DIVERSITY_K_CENTER,
    mcSamples: 7,
  });
  const labelled = all.slice(0, 4);
  for (const item of labelled) await humanLabel(item.id, 'cat');
  const clusterA = all.slice(4, 12);
  const clusterB = all.slice(12);
  const planted = new Map<string, Planted & { embedding: number[] }>();
  labelled.forEach((item) =>
    planted.set(item.id, { probabilities: probs('cat', 0.9), acquisitionScore: 0, embedding: [0, 0] }),
  );
  // Cluster A (next to the labelled items) scores highest; B is far away.
  clusterA.forEach((item, i) =>
    planted.set(item.id, {
      probabilities: probs('cat', 0.55),
      acquisitionScore: 0.9 - i / 100,
      embedding: [0.1, i / 100],
    }),
  );
  clusterB.forEach((item, i) =>
    planted.set(item.id, {
      probabilities: probs('cat', 0.55),
      acquisitionScore: 0.5 - i / 100,
      embedding: [10, i / 100],
    }),
  );
  const { job } = await h.client.beginScoring({
    datasetId: dataset.id,
    modelId: 'm',
    modelVersion: 1,
    artifactPrefix: 'p/',
    shardSize: 0,
  });
  const { shard } = await h.client.claimScoringShard({ datasetId: dataset.id, worker: 'w', leaseSeconds: 0 });
  assert.equal(shard!.embeddings, true);
  assert.equal(shard!.strategy, datasetV1.AcquisitionStrategy.ACQUISITION_STRATEGY_BALD);
  assert.equal(shard!.mcSamples, 7);
  await h.client.recordPredictions({
    shardId: shard!.id,
    worker: 'w',
    predictions: shard!.items.map((i) => ({ itemId: i.itemId, ...planted.get(i.itemId)! })),
  });
  await finished(job!.id);
  const { tasks } = await state(dataset.id);
  const order = tasks.filter((t) => t.reason === 'uncertain').map((t) => t.item_id);
  assert.equal(order.length, 12);
  assert.ok(
    clusterB.some((item) => item.id === order[0]),
    'the first task is the farthest from what is labelled',
  );
  assert.ok(
    order.slice(0, 2).some((id) => clusterA.some((item) => item.id === id)),
    'then the other cluster, not more of the same',
  );
});
