// The bulk writes of scoring and finalization, each inside the caller's transaction: predictions
// upserted per item × model version, model labels brought to their targets through the label
// history, the review queue rebuilt from a model's scores. Finalization writes first hold the job
// FINALIZING (assertFinalizing), so a newer model cannot supersede it halfway.
import { randomUUID } from 'node:crypto';
import type { OutboxEvent } from '@labelloop/events';
import type { Queryable } from '@labelloop/storage';
import { modelActor, modelLabelAction, type ModelLabelTarget, type QueueTask } from '../domain/scoring/finalize.js';
import { FinalizationAbandoned } from '../domain/scoring/ports.js';
import type { ValidPrediction } from '../domain/scoring/predictions.js';
import type { ScoringJob, ScoringStatus } from '../domain/scoring/types.js';
import { enqueueMany, itemLabeledEvent, itemLabelRemovedEvent } from './outbox-events.js';
import { ITEM_COLUMNS, itemFromRow, type ItemRow } from './rows.js';

/** Rows per multi-row INSERT of predictions (6 parameters each, well under PostgreSQL's 65535). */
export const PREDICTION_ROWS_PER_STATEMENT = 1000;

/** Holds the job row (FOR SHARE) so BeginScoring cannot supersede it while this transaction writes. */
export async function assertFinalizing(tx: Queryable, jobId: string): Promise<void> {
  const { rows } = await tx.query<{ status: ScoringStatus }>(
    'SELECT status FROM dataset.scoring_jobs WHERE id = $1 FOR SHARE',
    [jobId],
  );
  const status = rows[0]?.status ?? 'missing';
  if (status !== 'FINALIZING') throw new FinalizationAbandoned(jobId, status);
}

/**
 * Brings these pool items to their target model label (set, replaced or removed through the label
 * history), each re-checked under its row lock; queues the label events.
 */
export async function applyModelLabelsIn(
  tx: Queryable,
  job: ScoringJob,
  targets: ReadonlyArray<{ itemId: string; target: ModelLabelTarget | null }>,
): Promise<{ applied: number; removed: number }> {
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
}

/** Replaces the dataset's open unleased uncertain tasks and stale audits/suspicions, then adds `tasks`. */
export async function replaceQueueIn(tx: Queryable, job: ScoringJob, tasks: readonly QueueTask[]): Promise<void> {
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
}

export async function upsertPredictions(
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
