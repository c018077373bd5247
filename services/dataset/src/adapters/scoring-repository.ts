// Scoring jobs, shards and predictions in PostgreSQL / PGlite, and the writes of finalization.
//
// For other code in this service that changes labels outside SetLabel (review answers, audits):
// ItemRepository has, inside a caller's transaction,
//   setLabelIn(tx, itemId, request)              — the SetLabel path;
//   removeLabelIn(tx, itemId, { actor, source }) — history row with an empty value, item unlabelled;
//   excludeItemIn(tx, itemId, actor)             — "not in classes": excluded_at set, label removed;
// then items.afterLabelCommit(source | null) once the transaction committed; and removeLabel /
// excludeItem in their own transaction. Model labels are changed here in bulk (applyModelLabels).
import { randomUUID } from 'node:crypto';
import { NotFoundError, FailedPreconditionError } from '@labelloop/common';
import type { OutboxEvent } from '@labelloop/events';
import type { Database, Queryable } from '@labelloop/storage';
import {
  modelActor,
  modelLabelAction,
  type ModelLabelTarget,
  type QueueTask,
  type ScoredItem,
} from '../domain/scoring/finalize.js';
import { FinalizationAbandoned, type RecordOutcome, type ScoringStore } from '../domain/scoring/ports.js';
import type { ValidPrediction } from '../domain/scoring/predictions.js';
import {
  scoringKindOf,
  type AutoLabelDecision,
  type ClaimedShard,
  type NewScoringJob,
  type PredictionInput,
  type ScoringJob,
  type ScoringStatus,
} from '../domain/scoring/types.js';
import type { AcquisitionStrategy, Dataset, Diversity, LabelSource, Split } from '../domain/types.js';
import type { DatasetRepository } from './dataset-repository.js';
import type { RepositoryHooks } from './hooks.js';
import { enqueueMany, itemLabeledEvent, itemLabelRemovedEvent } from './outbox-events.js';
import { ITEM_COLUMNS, isUuid, itemFromRow, type ItemRow } from './rows.js';

interface JobRow {
  id: string;
  dataset_id: string;
  model_id: string;
  model_version: number;
  artifact_prefix: string;
  status: ScoringStatus;
  shards_total: number;
  shards_done: number;
  items_total: number;
  items_scored: number;
  failure_reason: string;
  decision: AutoLabelDecision | null;
  effective_target_error: number | null;
  created_at: Date;
  finished_at: Date | null;
}

const JOB_COLUMNS =
  'id, dataset_id, model_id, model_version, artifact_prefix, status, shards_total, shards_done, items_total, ' +
  'items_scored, failure_reason, decision, effective_target_error, created_at, finished_at';

function jobFromRow(row: JobRow): ScoringJob {
  return {
    id: row.id,
    datasetId: row.dataset_id,
    modelId: row.model_id,
    modelVersion: row.model_version,
    artifactPrefix: row.artifact_prefix,
    status: row.status,
    shardsTotal: row.shards_total,
    shardsDone: row.shards_done,
    itemsTotal: row.items_total,
    itemsScored: row.items_scored,
    failureReason: row.failure_reason,
    decision: row.decision,
    effectiveTargetError: row.effective_target_error,
    createdAt: row.created_at,
    finishedAt: row.finished_at,
  };
}

/** Rows per multi-row INSERT of predictions (6 parameters each, well under PostgreSQL's 65535). */
const PREDICTION_ROWS_PER_STATEMENT = 1000;

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
    dataset: Dataset,
    targets: ReadonlyArray<{ itemId: string; target: ModelLabelTarget | null }>,
  ): Promise<{ applied: number; removed: number }> {
    if (targets.length === 0) return { applied: 0, removed: 0 };
    const result = await this.db.transaction(async (tx) => {
      await assertFinalizing(tx, job.id);
      const byId = new Map(targets.map((t) => [t.itemId, t.target]));
      // Locked in id order, so two bulk changes never wait on each other in a cycle.
      const { rows } = await tx.query<ItemRow>(
        `SELECT ${ITEM_COLUMNS} FROM dataset.items WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`,
        [[...byId.keys()]],
      );
      const apply: Array<{ row: ItemRow; target: ModelLabelTarget }> = [];
      const remove: ItemRow[] = [];
      for (const row of rows) {
        const target = byId.get(row.id) ?? null;
        const action = modelLabelAction(
          {
            label: row.label,
            source: row.label_source,
            modelVersion: row.label_model_version,
            excluded: row.excluded_at !== null,
          },
          target,
          job.modelVersion,
        );
        if (action === 'apply') apply.push({ row, target: target! });
        if (action === 'remove') remove.push(row);
      }
      const actor = modelActor(job.modelVersion);
      const version = String(job.modelVersion);
      const history: Array<{
        itemId: string;
        value: string;
        confidence: number | null;
        modelVersion: string;
        version: number;
      }> = [];
      const events: OutboxEvent[] = [];
      if (apply.length > 0) {
        const updated = await tx.query<ItemRow>(
          `UPDATE dataset.items AS i
              SET label = u.value, label_source = 'model', label_actor = $6, label_confidence = u.confidence,
                  label_model_version = $7, labeled_at = now(), label_version = u.version,
                  -- Model labels train only; the test split is frozen (see label-plan.ts).
                  split = CASE WHEN i.split = 'test' THEN i.split ELSE 'train'::dataset.item_split END
             FROM unnest($1::uuid[], $2::text[], $3::float8[], $4::bigint[], $5::text[])
                  AS u(id, value, confidence, version, previous)
            WHERE i.id = u.id
        RETURNING ${ITEM_COLUMNS.split(', ')
          .map((c) => `i.${c}`)
          .join(', ')}, u.previous`,
          [
            apply.map(({ row }) => row.id),
            apply.map(({ target }) => target.value),
            apply.map(({ target }) => target.confidence),
            apply.map(({ row }) => row.label_version + 1),
            apply.map(({ row }) => row.label ?? ''),
            actor,
            version,
          ],
        );
        for (const row of updated.rows as Array<ItemRow & { previous: string }>) {
          const item = itemFromRow(row);
          history.push({
            itemId: item.id,
            value: item.label!.value,
            confidence: item.label!.confidence,
            modelVersion: version,
            version: item.labelVersion,
          });
          events.push(itemLabeledEvent(item, row.previous === '' ? null : row.previous));
        }
      }
      if (remove.length > 0) {
        const updated = await tx.query<ItemRow>(
          `UPDATE dataset.items AS i
              SET label = NULL, label_source = NULL, label_actor = NULL, label_confidence = NULL,
                  label_model_version = NULL, labeled_at = NULL, label_version = u.version, split = NULL
             FROM unnest($1::uuid[], $2::bigint[]) AS u(id, version)
            WHERE i.id = u.id
        RETURNING ${ITEM_COLUMNS.split(', ')
          .map((c) => `i.${c}`)
          .join(', ')}`,
          [remove.map((row) => row.id), remove.map((row) => row.label_version + 1)],
        );
        const previous = new Map(remove.map((row) => [row.id, row.label!]));
        for (const row of updated.rows) {
          const item = itemFromRow(row);
          history.push({ itemId: item.id, value: '', confidence: null, modelVersion: '', version: item.labelVersion });
          events.push(itemLabelRemovedEvent(item, previous.get(item.id)!, actor));
        }
      }
      if (history.length > 0) {
        await tx.query(
          `INSERT INTO dataset.item_labels (id, item_id, value, source, actor, confidence, model_version, version)
           SELECT u.id, u.item_id, u.value, 'model', $6, u.confidence, u.model_version, u.version
             FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::float8[], $5::bigint[], $7::text[])
                  AS u(id, item_id, value, confidence, version, model_version)`,
          [
            history.map(() => randomUUID()),
            history.map((h) => h.itemId),
            history.map((h) => h.value),
            history.map((h) => h.confidence),
            history.map((h) => h.version),
            actor,
            history.map((h) => h.modelVersion),
          ],
        );
        await enqueueMany(tx, events);
      }
      return { applied: apply.length, removed: remove.length };
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
      // The uncertain queue is rebuilt from this model's scores; tasks someone holds stay theirs.
      await tx.query(
        `DELETE FROM dataset.review_tasks
          WHERE dataset_id = $1 AND reason = 'uncertain'
            AND (leased_by IS NULL OR lease_expires_at IS NULL OR lease_expires_at <= now())`,
        [job.datasetId],
      );
      // Open audits of labels no model holds any more, and suspicions about labels that changed,
      // have nothing left to check (withdrawn items come back as uncertain below).
      await tx.query(
        `DELETE FROM dataset.review_tasks t USING dataset.items i
          WHERE t.dataset_id = $1 AND i.id = t.item_id
            AND (t.leased_by IS NULL OR t.lease_expires_at IS NULL OR t.lease_expires_at <= now())
            AND ((t.reason = 'audit' AND i.label_source IS DISTINCT FROM 'model')
              OR (t.reason = 'suspected_label_error'
                  AND (i.label IS DISTINCT FROM t.subject_label OR i.label_source NOT IN ('human', 'import'))))`,
        [job.datasetId],
      );
      if (tasks.length === 0) return;
      // Each task is re-checked against the item as it is now: uncertain items still unlabelled,
      // audited items still carrying this model's label (and not audited yet), suspected labels unchanged.
      await tx.query(
        `INSERT INTO dataset.review_tasks (id, dataset_id, item_id, reason, priority, model_version, subject_label)
         SELECT u.id, $1, u.item_id, u.reason, u.priority, $2::integer, u.subject
           FROM unnest($3::uuid[], $4::uuid[], $5::text[], $6::float8[], $7::text[])
                AS u(id, item_id, reason, priority, subject)
           JOIN dataset.items i ON i.id = u.item_id
          WHERE i.dataset_id = $1 AND i.excluded_at IS NULL AND (
                (u.reason = 'uncertain' AND i.label IS NULL)
             OR (u.reason = 'audit' AND i.label_source = 'model' AND i.label_model_version = $8::text
                 AND i.label = u.subject
                 AND NOT EXISTS (SELECT 1 FROM dataset.audit_results a
                                  WHERE a.item_id = u.item_id AND a.model_version = $2::integer))
             OR (u.reason = 'suspected_label_error' AND i.label_source IN ('human', 'import') AND i.label = u.subject))
         ON CONFLICT (item_id) DO NOTHING`,
        [
          job.datasetId,
          job.modelVersion,
          tasks.map(() => randomUUID()),
          tasks.map((t) => t.itemId),
          tasks.map((t) => t.reason),
          tasks.map((t) => t.priority),
          tasks.map((t) => t.subjectLabel),
          String(job.modelVersion),
        ],
      );
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

async function selectJob(q: Queryable, jobId: string): Promise<JobRow | undefined> {
  const { rows } = await q.query<JobRow>(`SELECT ${JOB_COLUMNS} FROM dataset.scoring_jobs WHERE id = $1`, [jobId]);
  return rows[0];
}

/** Holds the job row (FOR SHARE) so BeginScoring cannot supersede it while this transaction writes. */
async function assertFinalizing(tx: Queryable, jobId: string): Promise<void> {
  const { rows } = await tx.query<{ status: ScoringStatus }>(
    'SELECT status FROM dataset.scoring_jobs WHERE id = $1 FOR SHARE',
    [jobId],
  );
  const status = rows[0]?.status ?? 'missing';
  if (status !== 'FINALIZING') throw new FinalizationAbandoned(jobId, status);
}

async function upsertPredictions(
  tx: Queryable,
  job: ScoringJob,
  predictions: readonly ValidPrediction[],
): Promise<void> {
  if (predictions.length === 0) return;
  const params: unknown[] = [job.modelVersion, job.datasetId, job.id];
  const values = predictions.map((p) => {
    params.push(
      p.itemId,
      p.predicted,
      p.confidence,
      p.probabilities,
      p.acquisitionScore,
      p.embedding.length > 0 ? p.embedding : null,
    );
    const n = params.length;
    return `($${n - 5}::uuid, $1::integer, $2::uuid, $3::uuid, $${n - 4}::text, $${n - 3}::float8, $${n - 2}::real[], $${n - 1}::float8, $${n}::real[])`;
  });
  // Recording the same item again (a replayed shard, a rescoring) overwrites with the new values.
  await tx.query(
    `INSERT INTO dataset.predictions
       (item_id, model_version, dataset_id, job_id, predicted, confidence, probabilities, acquisition_score, embedding)
     VALUES ${values.join(', ')}
     ON CONFLICT (item_id, model_version) DO UPDATE
       SET job_id = EXCLUDED.job_id, predicted = EXCLUDED.predicted, confidence = EXCLUDED.confidence,
           probabilities = EXCLUDED.probabilities, acquisition_score = EXCLUDED.acquisition_score,
           embedding = EXCLUDED.embedding`,
    params,
  );
}
