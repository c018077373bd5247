import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { acquisitionScore } from '@labelloop/active-learning';
import { SCHEMA } from '@labelloop/dataset';
import { predict, type LocalEngine } from '@labelloop/ml';
import { datasetV1 } from '@labelloop/proto';
import { mnistPixels } from '@labelloop/testing';
import { DatasetScoringQueue } from '../src/adapters/dataset-scoring.js';
import { connectMessaging, startPromotionConsumers, type PromotionConsumers } from '../src/adapters/messaging.js';
import type { ScoringShard } from '../src/domain/types.js';
import { INFERENCE_IMAGES_TOTAL } from '../src/metrics.js';
import { startDatasetInfra, uploadDigits, type DatasetInfra, type UploadedDigits } from './support/dataset.js';
import { eventually, logger, startInference, type RunningInference } from './support/harness.js';
import { saveVersion, trainDigits, type SavedVersion } from './support/model.js';

// Pool scoring against the real dataset service (in this process, on PGlite or DATABASE_URL's
// server): promotions arrive on NATS, shards are claimed and recorded by real scorers.

const SHARD_SIZE = 16;
let infra: DatasetInfra;
let engine: LocalEngine;
const running: RunningInference[] = [];
const consumers: PromotionConsumers[] = [];

before(async () => {
  infra = await startDatasetInfra();
  engine = await trainDigits({ images: 400, epochs: 3 });
});

after(async () => {
  for (const c of consumers) await c.stopScoringJobs().then(() => c.stopFollowing());
  for (const r of running) await r.close();
  await engine?.dispose();
  await infra?.close();
});

interface Scorer extends RunningInference {
  /** When each shard was claimed, by shard id. */
  claimedAt: Map<string, number>;
}

/** A scoring replica: its own predict worker, the promotion consumers main.ts starts, its loop running. */
async function startScorer(worker: string, options: { leaseMs?: number; onClaimed?: (shard: ScoringShard, scorer: Scorer) => void; events?: boolean } = {}): Promise<Scorer> {
  const claimedAt = new Map<string, number>();
  const queue = new DatasetScoringQueue(infra.client);
  let scorer: Scorer | undefined;
  const inference = await startInference(infra.s3.store, {
    workers: 1,
    scoring: {
      queue,
      worker,
      leaseMs: options.leaseMs ?? 60_000,
      pollIntervalMs: 100,
      onClaimed: (shard) => {
        claimedAt.set(shard.id, Date.now());
        options.onClaimed?.(shard, scorer!);
      },
    },
  });
  scorer = Object.assign(inference, { claimedAt });
  running.push(scorer);
  if (options.events !== false) {
    const nc = await connectMessaging({ url: infra.nats.url, stream: infra.nats.streamName, subjectPrefix: infra.nats.subjectPrefix, logger });
    const promotions = await startPromotionConsumers(nc, {
      url: infra.nats.url,
      stream: infra.nats.streamName,
      subjectPrefix: infra.nats.subjectPrefix,
      logger,
      onPromoted: (ref) => inference.server.champions.promoted(ref),
      scoring: { queue, shardSize: SHARD_SIZE, nudge: () => inference.server.scoring!.nudge() },
    });
    consumers.push({
      stopScoringJobs: () => promotions.stopScoringJobs(),
      stopFollowing: async () => (await promotions.stopFollowing(), await nc.close()),
    });
  }
  inference.server.scoring!.start();
  return scorer;
}

function recordedShards(scorer: RunningInference): string[] {
  return scorer.server.scoring!.results.filter((r) => r.outcome === 'recorded').map((r) => r.shard.id);
}

async function finishedJob(datasetId: string, version: number): Promise<datasetV1.ScoringJob> {
  return eventually(
    `scoring job of v${version} to have every shard done`,
    async () => {
      const { jobs } = await infra.client.listScoringJobs({ datasetId, limit: 10 });
      const job = jobs.find((j) => j.modelVersion === version);
      return job && job.shardsTotal > 0 && job.shardsDone === job.shardsTotal ? job : undefined;
    },
    120_000,
  );
}

interface PredictionRow {
  item_id: string;
  model_version: number;
  probabilities: number[];
  acquisition_score: number;
  embedding: number[] | null;
}

async function storedPredictions(datasetId: string, version: number): Promise<PredictionRow[]> {
  const { rows } = await infra.db.db.query<PredictionRow>(
    `SELECT item_id, model_version, probabilities, acquisition_score, embedding FROM ${SCHEMA}.predictions WHERE dataset_id = $1 AND model_version = $2`,
    [datasetId, version],
  );
  return rows;
}

/** What libs/ml computes in this thread for the dataset's items, at the version's temperature. */
async function reference(digits: UploadedDigits, temperature: number): Promise<Map<string, Float32Array>> {
  const ids = [...digits.mnistIndex.keys()];
  const pixels = new Uint8Array(ids.length * 784);
  ids.forEach((id, i) => pixels.set(mnistPixels('train', digits.mnistIndex.get(id)!), i * 784));
  const out = await predict(engine.model, pixels, { temperature });
  return new Map(ids.map((id, i) => [id, out[i]!.probabilities]));
}

let digits: UploadedDigits;
let v1: SavedVersion;

test('a promotion event starts scoring; two replicas share the shards, none recorded twice, and every item gets the model version’s calibrated prediction', async () => {
  digits = await uploadDigits(infra.client, { from: 1000, labelled: 60, unlabelled: 180 });
  v1 = await saveVersion(infra.s3.store, engine, digits.datasetId, 1, 1.5);
  const [a, b] = await Promise.all([startScorer('scorer-a'), startScorer('scorer-b')]);

  await infra.publishPromoted(v1);
  // Every replica follows promotions: both load the champion.
  await eventually('both replicas to load v1', () => [a, b].every((s) => s.server.models.champion(digits.datasetId)?.version === 1));

  const job = await finishedJob(digits.datasetId, 1);
  const total = digits.labelled + digits.unlabelled;
  assert.equal(job.itemsTotal, total);
  assert.equal(job.itemsScored, total);
  assert.equal(job.shardsTotal, Math.ceil(total / SHARD_SIZE));
  assert.notEqual(job.status, datasetV1.ScoringStatus.SCORING_STATUS_RUNNING);

  const [byA, byB] = [recordedShards(a), recordedShards(b)];
  assert.ok(byA.length > 0 && byB.length > 0, `shared: a recorded ${byA.length}, b ${byB.length}`);
  assert.equal(new Set([...byA, ...byB]).size, byA.length + byB.length, 'no shard recorded twice');
  assert.equal(byA.length + byB.length, job.shardsTotal);

  const rows = await storedPredictions(digits.datasetId, 1);
  assert.equal(rows.length, total);
  const expected = await reference(digits, v1.temperature);
  for (const row of rows) {
    const p = expected.get(row.item_id)!;
    assert.equal(row.probabilities.length, 10);
    row.probabilities.forEach((q, c) => assert.ok(Math.abs(q - p[c]!) < 1e-4, `item ${row.item_id} class ${c}: ${q} vs ${p[c]}`));
    // The dataset's default strategy: margin.
    assert.ok(Math.abs(row.acquisition_score - acquisitionScore('margin', p)) < 1e-4);
    assert.equal(row.embedding, null);
  }
  const metrics = await a.registry.metrics();
  assert.match(metrics, new RegExp(`${INFERENCE_IMAGES_TOTAL}\\{dataset_id="${digits.datasetId}",kind="scoring",service="inference"\\} [1-9]`));

  // The same promotion delivered again (a redelivery, or a second replica's event): one job, nothing rescored.
  await infra.publishPromoted(v1);
  await new Promise((r) => setTimeout(r, 1500));
  const { jobs } = await infra.client.listScoringJobs({ datasetId: digits.datasetId, limit: 10 });
  assert.equal(jobs.length, 1);
  assert.equal(recordedShards(a).length + recordedShards(b).length, job.shardsTotal);
  for (const s of [a, b]) await s.server.scoring!.stop({ graceMs: 0 });
});

test('a scorer stopped mid-shard records nothing; another scores the shard once its lease expires (BALD with MC dropout and embeddings)', async () => {
  await infra.client.updateActiveLearningSettings({
    datasetId: digits.datasetId,
    settings: { strategy: datasetV1.AcquisitionStrategy.ACQUISITION_STRATEGY_BALD, mcSamples: 5, diversity: datasetV1.Diversity.DIVERSITY_K_CENTER },
  });
  const v2 = await saveVersion(infra.s3.store, engine, digits.datasetId, 2, 1);
  let abandoned: ScoringShard | undefined;
  const a = await startScorer('scorer-dies', {
    events: false,
    leaseMs: 2000,
    // Dies as soon as it holds a shard: stops without recording.
    onClaimed: (shard, self) => {
      abandoned ??= shard;
      void self.server.scoring!.stop({ graceMs: 0 });
    },
  });
  const { created } = await new DatasetScoringQueue(infra.client).beginScoring(v2, SHARD_SIZE);
  assert.ok(created);
  a.server.scoring!.nudge();
  await eventually('the first scorer to abandon its shard', () => a.server.scoring!.results.some((r) => r.outcome === 'abandoned'));
  assert.deepEqual(a.server.scoring!.results.map((r) => r.outcome), ['abandoned']);

  const b = await startScorer('scorer-survives', { events: false });
  const job = await finishedJob(digits.datasetId, 2);
  assert.equal(job.itemsScored, digits.labelled + digits.unlabelled);
  const byB = recordedShards(b);
  assert.equal(byB.length, job.shardsTotal, 'the survivor scored every shard, the abandoned one too');
  assert.ok(byB.includes(abandoned!.id));
  assert.ok(b.claimedAt.get(abandoned!.id)! >= abandoned!.leaseExpiresAt!.getTime() - 50, 'taken over only after the lease expired');
  // The shard's model version was loaded by artifact prefix; it was never promoted here.
  assert.equal(b.server.models.champion(digits.datasetId), undefined);

  const rows = await storedPredictions(digits.datasetId, 2);
  assert.equal(rows.length, digits.labelled + digits.unlabelled);
  const expected = await reference(digits, v2.temperature);
  for (const row of rows) {
    row.probabilities.forEach((q, c) => assert.ok(Math.abs(q - expected.get(row.item_id)![c]!) < 1e-4));
    assert.ok(row.acquisition_score >= 0 && Number.isFinite(row.acquisition_score));
    assert.equal(row.embedding?.length, 128);
  }
  // MC-dropout passes disagree on some digits: BALD is not flat zero.
  assert.ok(rows.some((r) => r.acquisition_score > 1e-3), 'BALD scores above zero');
});
