// Scoring jobs, shards and predictions in PostgreSQL / PGlite; finalization's bulk writes: scoring-writes.ts.
import { randomUUID } from 'node:crypto';
import { NotFoundError, FailedPreconditionError } from '@labelloop/common';
import type { Database } from '@labelloop/storage';
import type { ModelLabelTarget, QueueTask, ScoredItem } from '../domain/scoring/finalize.js';
import { FinalizationAbandoned, type RecordOutcome, type ScoringStore } from '../domain/scoring/ports.js';
import type { ValidPrediction } from '../domain/scoring/predictions.js';
import {
  scoringKindOf,
  type AutoLabelDecision,
  type ClaimedShard,
  type NewScoringJob,
  type PredictionInput,
  type ScoringJob,
} from '../domain/scoring/types.js';
import type { AcquisitionStrategy, Dataset, Diversity, LabelSource, Split } from '../domain/types.js';
import type { DatasetRepository } from './dataset-repository.js';
import type { RepositoryHooks } from './hooks.js';
import { isUuid } from './rows.js';
import { JOB_COLUMNS, jobFromRow, selectJob, type JobRow } from './scoring-job-rows.js';
import {
  applyModelLabelsIn,
  assertFinalizing,
  PREDICTION_ROWS_PER_STATEMENT,
  replaceQueueIn,
  upsertPredictions,
} from './scoring-writes.js';

export class ScoringRepository implements ScoringStore {
  constructor(
    private readonly db: Database,
    private readonly datasets: DatasetRepository,
    private readonly hooks: RepositoryHooks,
  ) {}

  async begin(dataset: Dataset, input: NewScoringJob): Promise<{ job: ScoringJob; created: boolean }> {
    return this.db.transaction(async (tx) => {
      // Serialises BeginScoring per dataset (two promotions at once, or a redelivered event).
      await tx.query('SELECT id FROM dataset.datasets WHERE id = $1 FOR NO KEY UPDATE', [dataset.id]);
      const existing = await tx.query<JobRow>(
        `SELECT ${JOB_COLUMNS} FROM dataset.scoring_jobs WHERE dataset_id = $1 AND model_version = $2`,
        [dataset.id, input.modelVersion],
      );
      if (existing.rows[0]) return { job: jobFromRow(existing.rows[0]), created: false };

      const newer = await tx.query<{ model_version: number }>(
        `SELECT max(model_version) AS model_version FROM dataset.scoring_jobs
          WHERE dataset_id = $1 AND model_version > $2`,
        [dataset.id, input.modelVersion],
      );
      const newerVersion = newer.rows[0]?.model_version ?? null;
      const id = randomUUID();
      if (newerVersion !== null) {
        // A late promotion event: a newer model is already scoring, so this one never runs.
        const { rows } = await tx.query<JobRow>(
          `INSERT INTO dataset.scoring_jobs (id, dataset_id, model_id, model_version, artifact_prefix, status,
             shards_total, items_total, failure_reason, finished_at)
           VALUES ($1, $2, $3, $4, $5, 'SUPERSEDED', 0, 0, $6, now()) RETURNING ${JOB_COLUMNS}`,
          [id, dataset.id, input.modelId, input.modelVersion, input.artifactPrefix, supersededBy(newerVersion)],
        );
        return { job: jobFromRow(rows[0]!), created: true };
      }
      await tx.query(
        `UPDATE dataset.scoring_jobs SET status = 'SUPERSEDED', finished_at = now(), failure_reason = $3
          WHERE dataset_id = $1 AND model_version < $2 AND status IN ('RUNNING', 'FINALIZING')`,
        [dataset.id, input.modelVersion, supersededBy(input.modelVersion)],
      );
      await tx.query(
        `INSERT INTO dataset.scoring_jobs (id, dataset_id, model_id, model_version, artifact_prefix, status,
           shards_total, items_total)
         VALUES ($1, $2, $3, $4, $5, 'RUNNING', 0, 0)`,
        [id, dataset.id, input.modelId, input.modelVersion, input.artifactPrefix],
      );
      // Every item not excluded, frozen into shards in ingestion order.
      const shards = await tx.query<{ n: number }>(
        `INSERT INTO dataset.scoring_shards (id, job_id, ordinal, item_ids)
         SELECT gen_random_uuid(), $1, (rn - 1) / $3, array_agg(id ORDER BY rn)
           FROM (SELECT id, row_number() OVER (ORDER BY seq) AS rn
                   FROM dataset.items WHERE dataset_id = $2 AND excluded_at IS NULL) AS numbered
          GROUP BY (rn - 1) / $3
         RETURNING cardinality(item_ids) AS n`,
        [id, dataset.id, input.shardSize],
      );
      const itemsTotal = shards.rows.reduce((sum, row) => sum + row.n, 0);
      const { rows } = await tx.query<JobRow>(
        `UPDATE dataset.scoring_jobs
            SET shards_total = $2, items_total = $3, status = CASE WHEN $2 = 0 THEN 'FINALIZING' ELSE status END
          WHERE id = $1 RETURNING ${JOB_COLUMNS}`,
        [id, shards.rows.length, itemsTotal],
      );
      return { job: jobFromRow(rows[0]!), created: true };
    });
  }

  async claim(worker: string, leaseSeconds: number, datasetId?: string): Promise<ClaimedShard | undefined> {
    // One statement: the open shard is locked (SKIP LOCKED: concurrent claimers take the next one)
    // and leased together. On PGlite's single connection statements simply run one after another.
    const leased = await this.db.query<{
      id: string;
      job_id: string;
      item_ids: string[];
      lease_expires_at: Date;
    }>(
      `WITH next AS (
         SELECT s.id FROM dataset.scoring_shards s JOIN dataset.scoring_jobs j ON j.id = s.job_id
           JOIN dataset.datasets d ON d.id = j.dataset_id
          -- A soft-deleted dataset's shards wait: restored, its scoring goes on.
          WHERE j.status = 'RUNNING' AND s.done_at IS NULL AND d.deleted_at IS NULL
            AND (s.lease_expires_at IS NULL OR s.lease_expires_at <= clock_timestamp())
            AND ($1::uuid IS NULL OR j.dataset_id = $1::uuid)
          ORDER BY j.created_at, j.id, s.ordinal
          LIMIT 1
          FOR UPDATE OF s SKIP LOCKED
       )
       UPDATE dataset.scoring_shards s
          SET lease_owner = $2, lease_expires_at = clock_timestamp() + make_interval(secs => $3),
              attempts = s.attempts + 1
         FROM next WHERE s.id = next.id
       RETURNING s.id, s.job_id, s.item_ids, s.lease_expires_at`,
      [datasetId ?? null, worker, leaseSeconds],
    );
    const shard = leased.rows[0];
    if (!shard) return undefined;
    const job = await this.db.query<
      JobRow & { strategy: AcquisitionStrategy; mc_samples: number; diversity: Diversity }
    >(
      `SELECT ${JOB_COLUMNS.split(', ')
        .map((c) => `j.${c}`)
        .join(', ')},
              d.al_strategy AS strategy, d.al_mc_samples AS mc_samples, d.al_diversity AS diversity
         FROM dataset.scoring_jobs j JOIN dataset.datasets d ON d.id = j.dataset_id WHERE j.id = $1`,
      [shard.job_id],
    );
    const items = await this.db.query<{
      id: string;
      sha256: string;
      label_source: LabelSource | null;
      split: Split | null;
      excluded: boolean;
    }>(
      `SELECT i.id, i.sha256, i.label_source, i.split::text AS split, i.excluded_at IS NOT NULL AS excluded
         FROM unnest($1::uuid[]) WITH ORDINALITY AS u(id, ord) JOIN dataset.items i ON i.id = u.id
        ORDER BY u.ord`,
      [shard.item_ids],
    );
    const row = job.rows[0]!;
    return {
      id: shard.id,
      jobId: row.id,
      datasetId: row.dataset_id,
      modelId: row.model_id,
      modelVersion: row.model_version,
      artifactPrefix: row.artifact_prefix,
      // Items excluded since the job began are not scored.
      items: items.rows.flatMap((item) => {
        const kind = scoringKindOf({ labelSource: item.label_source, split: item.split, excluded: item.excluded });
        return kind ? [{ itemId: item.id, sha256: item.sha256, kind }] : [];
      }),
      strategy: row.strategy,
      mcSamples: row.mc_samples,
      embeddings: row.diversity === 'k_center',
      leaseExpiresAt: shard.lease_expires_at,
    };
  }

  async record(
    shardId: string,
    worker: string,
    predictions: readonly PredictionInput[],
    validate: (shardItemIds: ReadonlySet<string>, classes: readonly string[]) => ValidPrediction[],
  ): Promise<RecordOutcome> {
    if (!isUuid(shardId)) throw new NotFoundError(`scoring shard "${shardId}" not found`);
    return this.db.transaction(async (tx) => {
      const found = await tx.query<{
        item_ids: string[];
        lease_owner: string | null;
        done_at: Date | null;
        job_id: string;
      }>(`SELECT item_ids, lease_owner, done_at, job_id FROM dataset.scoring_shards WHERE id = $1 FOR UPDATE`, [
        shardId,
      ]);
      const shard = found.rows[0];
      if (!shard) throw new NotFoundError(`scoring shard "${shardId}" not found`);
      const jobRow = await tx.query<JobRow & { classes: string[] }>(
        `SELECT ${JOB_COLUMNS.split(', ')
          .map((c) => `j.${c}`)
          .join(', ')}, d.classes
           FROM dataset.scoring_jobs j JOIN dataset.datasets d ON d.id = j.dataset_id WHERE j.id = $1`,
        [shard.job_id],
      );
      const job = jobFromRow(jobRow.rows[0]!);
      // A replay of a done shard, or predictions for a job a newer model superseded: nothing changes.
      if (shard.done_at !== null || job.status !== 'RUNNING') return { job, recorded: false };
      if (shard.lease_owner === null) {
        throw new FailedPreconditionError(`scoring shard "${shardId}" is not leased; claim it first`);
      }
      // An expired lease still counts until another worker claims the shard.
      if (shard.lease_owner !== worker) {
        throw new FailedPreconditionError(
          `scoring shard "${shardId}" is leased to "${shard.lease_owner}", not "${worker}" (lease lost)`,
          { code: 'lease_lost' },
        );
      }
      const valid = validate(new Set(shard.item_ids), jobRow.rows[0]!.classes);
      for (let start = 0; start < valid.length; start += PREDICTION_ROWS_PER_STATEMENT) {
        await upsertPredictions(tx, job, valid.slice(start, start + PREDICTION_ROWS_PER_STATEMENT));
      }
      await tx.query('UPDATE dataset.scoring_shards SET done_at = now() WHERE id = $1', [shardId]);
      const { rows } = await tx.query<JobRow>(
        `UPDATE dataset.scoring_jobs
            SET shards_done = shards_done + 1, items_scored = items_scored + $2,
                status = CASE WHEN shards_done + 1 >= shards_total THEN 'FINALIZING' ELSE status END
          WHERE id = $1 RETURNING ${JOB_COLUMNS}`,
        [job.id, valid.length],
      );
      return { job: jobFromRow(rows[0]!), recorded: true };
    });
  }

  async get(jobId: string): Promise<ScoringJob> {
    const row = isUuid(jobId) ? await selectJob(this.db, jobId) : undefined;
    if (!row) throw new NotFoundError(`scoring job "${jobId}" not found`);
    return jobFromRow(row);
  }

  async list(datasetId: string, limit: number): Promise<ScoringJob[]> {
    const { rows } = await this.db.query<JobRow>(
      `SELECT ${JOB_COLUMNS} FROM dataset.scoring_jobs WHERE dataset_id = $1
        ORDER BY model_version DESC, created_at DESC LIMIT $2`,
      [datasetId, limit],
    );
    return rows.map(jobFromRow);
  }

  async finalizingJobs(): Promise<ScoringJob[]> {
    const { rows } = await this.db.query<JobRow>(
      `SELECT ${JOB_COLUMNS} FROM dataset.scoring_jobs WHERE status = 'FINALIZING' ORDER BY created_at`,
    );
    return rows.map(jobFromRow);
  }

  async reopenLatest(datasetId: string): Promise<ScoringJob | undefined> {
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query<JobRow>(
        `SELECT ${JOB_COLUMNS} FROM dataset.scoring_jobs
          WHERE dataset_id = $1 AND status IN ('SUCCEEDED', 'FINALIZING')
          ORDER BY model_version DESC LIMIT 1 FOR UPDATE`,
        [datasetId],
      );
      const latest = rows[0];
      if (!latest) return undefined;
      // A newer job still scoring will finalize with the new settings itself.
      const newer = await tx.query(
        `SELECT 1 FROM dataset.scoring_jobs WHERE dataset_id = $1 AND model_version > $2 AND status = 'RUNNING'`,
        [datasetId, latest.model_version],
      );
      if (newer.rows.length > 0) return undefined;
      if (latest.status === 'FINALIZING') return jobFromRow(latest);
      const reopened = await tx.query<JobRow>(
        `UPDATE dataset.scoring_jobs SET status = 'FINALIZING', finished_at = NULL WHERE id = $1
         RETURNING ${JOB_COLUMNS}`,
        [latest.id],
      );
      return jobFromRow(reopened.rows[0]!);
    });
  }

  async loadFinalization(jobId: string): Promise<{ job: ScoringJob; dataset: Dataset; items: ScoredItem[] }> {
    const job = await this.get(jobId);
    const dataset = await this.datasets.get(job.datasetId);
    const { rows } = await this.db.query<{
      item_id: string;
      seq: number;
      predicted: string;
      confidence: number;
      probabilities: number[] | null;
      acquisition_score: number;
      label: string | null;
      label_source: LabelSource | null;
      label_model_version: string | null;
      split: Split | null;
      excluded: boolean;
      labeled_at: Date | null;
    }>(
      // Probabilities only where the plan needs them (suspected label errors): reading 100,000
      // arrays for the pool would double the time.
      `SELECT p.item_id, i.seq, p.predicted, p.confidence,
              CASE WHEN i.label_source IN ('human', 'import') THEN p.probabilities END AS probabilities,
              p.acquisition_score,
              i.label, i.label_source, i.label_model_version, i.split::text AS split,
              i.excluded_at IS NOT NULL AS excluded, i.labeled_at
         FROM dataset.predictions p JOIN dataset.items i ON i.id = p.item_id
        WHERE p.job_id = $1 ORDER BY i.seq`,
      [jobId],
    );
    const items = rows.map((row): ScoredItem => ({
      itemId: row.item_id,
      seq: row.seq,
      predicted: row.predicted,
      confidence: row.confidence,
      probabilities: row.probabilities,
      acquisitionScore: row.acquisition_score,
      label: row.label,
      labelSource: row.label_source,
      labelModelVersion: row.label_model_version,
      split: row.split,
      excluded: row.excluded,
      labeledAt: row.labeled_at,
    }));
    return { job, dataset, items };
  }

  async embeddings(job: ScoringJob, itemIds: readonly string[]): Promise<Map<string, number[]>> {
    if (itemIds.length === 0) return new Map();
    const { rows } = await this.db.query<{ item_id: string; embedding: number[] }>(
      `SELECT item_id, embedding FROM dataset.predictions
        WHERE job_id = $1 AND item_id = ANY($2::uuid[]) AND cardinality(embedding) > 0`,
      [job.id, [...itemIds]],
    );
    return new Map(rows.map((row) => [row.item_id, row.embedding]));
  }

  async labelledEmbeddings(job: ScoringJob, limit: number): Promise<number[][]> {
    const { rows } = await this.db.query<{ embedding: number[] }>(
      `SELECT p.embedding FROM dataset.predictions p JOIN dataset.items i ON i.id = p.item_id
        WHERE p.job_id = $1 AND cardinality(p.embedding) > 0 AND i.label_source IN ('human', 'import')
          AND i.excluded_at IS NULL
        ORDER BY i.seq LIMIT $2`,
      [job.id, limit],
    );
    return rows.map((row) => row.embedding);
  }

  async applyModelLabels(
    job: ScoringJob,
    _dataset: Dataset,
    targets: ReadonlyArray<{ itemId: string; target: ModelLabelTarget | null }>,
  ): Promise<{ applied: number; removed: number }> {
    if (targets.length === 0) return { applied: 0, removed: 0 };
    const result = await this.db.transaction(async (tx) => {
      await assertFinalizing(tx, job.id);
      return applyModelLabelsIn(tx, job, targets);
    });
    if (result.applied + result.removed > 0) {
      this.hooks.eventsCommitted();
      for (let i = 0; i < result.applied; i++) this.hooks.labelApplied('model');
    }
    return result;
  }

  async writeQueue(job: ScoringJob, tasks: readonly QueueTask[]): Promise<void> {
    await this.db.transaction(async (tx) => {
      await assertFinalizing(tx, job.id);
      await replaceQueueIn(tx, job, tasks);
    });
  }

  async complete(jobId: string, decision: AutoLabelDecision, effectiveTargetError: number): Promise<ScoringJob> {
    const { rows } = await this.db.query<JobRow>(
      `UPDATE dataset.scoring_jobs
          SET status = 'SUCCEEDED', decision = $2::jsonb, effective_target_error = $3, finished_at = now()
        WHERE id = $1 AND status = 'FINALIZING' RETURNING ${JOB_COLUMNS}`,
      [jobId, JSON.stringify(decision), effectiveTargetError],
    );
    if (rows[0]) return jobFromRow(rows[0]);
    const job = await this.get(jobId);
    // Another replica finished the same finalization first: same plan, same result.
    if (job.status === 'SUCCEEDED') return job;
    throw new FinalizationAbandoned(jobId, job.status);
  }

  /** Latest finalized coverage per dataset and model version (metrics). */
  async coverage(): Promise<
    Array<{ datasetId: string; modelVersion: number; poolItems: number; autoLabelled: number }>
  > {
    const { rows } = await this.db.query<{ dataset_id: string; model_version: number; decision: AutoLabelDecision }>(
      `SELECT dataset_id, model_version, decision FROM dataset.scoring_jobs
        WHERE status = 'SUCCEEDED' AND decision IS NOT NULL
          AND dataset_id NOT IN (SELECT id FROM dataset.datasets WHERE deleted_at IS NOT NULL)`,
    );
    return rows.map((row) => ({
      datasetId: row.dataset_id,
      modelVersion: row.model_version,
      poolItems: row.decision.poolItems,
      autoLabelled: row.decision.autoLabelled,
    }));
  }

  /** Every dataset's ε (metrics). */
  async targetErrors(): Promise<Array<{ datasetId: string; targetError: number }>> {
    const { rows } = await this.db.query<{ id: string; al_target_error: number }>(
      'SELECT id, al_target_error FROM dataset.datasets WHERE deleted_at IS NULL',
    );
    return rows.map((row) => ({ datasetId: row.id, targetError: row.al_target_error }));
  }
}

function supersededBy(version: number): string {
  return `superseded by model version ${version}`;
}
