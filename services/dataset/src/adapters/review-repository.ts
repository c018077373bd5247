import { randomUUID } from 'node:crypto';
import type { Database, Queryable } from '@labelloop/storage';
import {
  answerRefusal,
  auditOutcome,
  leaseRefusal,
  type AuditOutcome,
  type Refusal,
  type TaskState,
} from '../domain/review/answer-rules.js';
import {
  REVIEW_REASONS,
  type AnswerResult,
  type AuditCounts,
  type QueueDepth,
  type ReviewAnswer,
  type ReviewReason,
} from '../domain/review/types.js';
import type { AutoLabelDecision } from '../domain/scoring/types.js';
import type { Dataset, Item, LabelSource } from '../domain/types.js';
import type { DatasetRepository } from './dataset-repository.js';
import type { ItemRepository } from './item-repository.js';
import { enqueueMany, itemLabelRemovedEvent } from './outbox-events.js';
import { RemainingCount } from './remaining-count.js';
import { ITEM_COLUMNS, isUuid, itemFromRow, type ItemRow } from './rows.js';

// The review queue in PostgreSQL (review_tasks, audit_results, audit_failures). Leases are taken
// with FOR UPDATE SKIP LOCKED, so concurrent reviewers on a real server never receive the same task;
// on PGlite (one connection) transactions run one after another, which is just as safe.

/** A task just leased, with what the reviewer is shown. */
export interface LeasedTask {
  item: Item;
  reason: ReviewReason;
  modelVersion: number;
  subjectLabel: string | null;
  leaseExpiresAt: Date;
  /** Already leased to the same reviewer before this call (served first). */
  heldBefore: boolean;
  /** The item's latest prediction (highest model version), one per class in class order. */
  probabilities: number[] | null;
}

/** One answer after its transaction committed (or was refused without changing anything). */
export interface AppliedAnswer {
  result: AnswerResult;
  /** Set when the answer scored an audit. */
  audit?: AuditOutcome;
  /** The item's label changed (label set or removed): publish the events and count it. */
  labelChanged: boolean;
  /** The source of a new label, for the labels metric (null when a label was removed). */
  newLabelSource: LabelSource | null;
}

export interface FailedAuditInput {
  datasetId: string;
  modelVersion: number;
  counts: AuditCounts;
  upperBound: number;
  /** Who the label removals are attributed to in the label history. */
  actor: string;
}

export interface FailedAuditOutcome {
  /** False when this version's failure was already handled (nothing changed this time). */
  firstTime: boolean;
  revokedLabels: number;
  /** The dataset's error scale after halving. */
  errorScale: number;
}

interface TaskRow {
  id: string;
  item_id: string;
  reason: ReviewReason;
  priority: number;
  model_version: number;
  subject_label: string | null;
  leased_by: string | null;
  lease_expires_at: Date | null;
  lease_live: boolean;
}

/**
 * A task that still makes sense to serve: its item is not excluded, and an 'uncertain' item has not
 * got a human or import label some other way meanwhile (the next scoring drops such tasks).
 */
const SERVABLE = `NOT EXISTS (
  SELECT 1 FROM dataset.items i
   WHERE i.id = t.item_id
     AND (i.excluded_at IS NOT NULL OR (t.reason = 'uncertain' AND i.label_source IN ('human', 'import'))))`;
/**
 * SERVABLE for the lease's "best open tasks" scan, as one primary-key lookup per candidate row: the
 * NOT EXISTS form lets the planner hash or seq-scan the dataset's items (10+ ms for 100,000) before
 * the LIMIT can stop it. Same meaning (coalesce: an unlabelled item's label_source is NULL).
 */
const SERVABLE_ROW = `NOT (
  SELECT i.excluded_at IS NOT NULL OR (t.reason = 'uncertain' AND coalesce(i.label_source IN ('human', 'import'), false))
    FROM dataset.items i WHERE i.id = t.item_id)`;
const OPEN = '(t.leased_by IS NULL OR t.lease_expires_at <= now())';

const DEADLOCK = '40P01';
/** Labels per statement when a failed audit revokes a version's labels. */
const REVOKE_CHUNK = 1000;
const SERIALIZATION_FAILURE = '40001';

export class ReviewRepository {
  private readonly remaining: RemainingCount;

  constructor(
    private readonly db: Database,
    private readonly datasets: DatasetRepository,
    private readonly items: ItemRepository,
  ) {
    this.remaining = new RemainingCount({
      probe: async (datasetId, upTo) => {
        const { rows } = await this.db.query<{ n: number }>(
          `SELECT count(*) AS n FROM (
             SELECT 1 FROM dataset.review_tasks t WHERE t.dataset_id = $1 AND ${OPEN} AND ${SERVABLE_ROW} LIMIT $2) open`,
          [datasetId, upTo + 1],
        );
        return rows[0]!.n <= upTo ? rows[0]!.n : undefined;
      },
      countAll: async (datasetId) => {
        const { rows } = await this.db.query<{ n: number }>(
          `SELECT count(*) AS n FROM dataset.review_tasks t WHERE t.dataset_id = $1 AND ${OPEN} AND ${SERVABLE}`,
          [datasetId],
        );
        return rows[0]!.n;
      },
    });
  }

  /**
   * Leases up to `limit` tasks to `actor` for `leaseSeconds`: first the tasks the actor already holds
   * (their lease renewed), then the best open ones (lowest priority) nobody holds a live lease on.
   */
  async lease(
    dataset: Dataset,
    actor: string,
    limit: number,
    leaseSeconds: number,
  ): Promise<{ tasks: LeasedTask[]; remaining: number }> {
    const tasks = await retryOnConflict(() =>
      this.db.transaction(async (tx) => {
        const held = await tx.query<{ id: string }>(
          `SELECT id FROM dataset.review_tasks
            WHERE dataset_id = $1 AND leased_by = $2 AND lease_expires_at > now()
            ORDER BY priority, id LIMIT $3 FOR UPDATE SKIP LOCKED`,
          [dataset.id, actor, limit],
        );
        const heldIds = held.rows.map((row) => row.id);
        // One statement picks and leases: rows another transaction holds are skipped, and a row
        // leased by a transaction that committed meanwhile fails the re-check of its WHERE clause.
        // The picked ids come from a CTE joined by primary key: `id = ANY(held) OR id IN (pick)`
        // made PostgreSQL scan the whole queue for the UPDATE (13 ms per lease at 100,000 tasks).
        const leased = await tx.query<TaskRow>(
          `WITH picked AS (
             SELECT t.id FROM dataset.review_tasks t
              WHERE t.dataset_id = $1 AND ${OPEN} AND ${SERVABLE_ROW}
              ORDER BY t.priority, t.id LIMIT $3 FOR UPDATE SKIP LOCKED)
           UPDATE dataset.review_tasks r
              SET leased_by = $2, lease_expires_at = now() + $4::int * interval '1 second'
            WHERE r.id IN (SELECT id FROM picked UNION ALL SELECT unnest($5::uuid[]))
            RETURNING r.id, r.item_id, r.reason, r.priority, r.model_version, r.subject_label, r.leased_by,
                      r.lease_expires_at, true AS lease_live`,
          [dataset.id, actor, limit - heldIds.length, leaseSeconds, heldIds],
        );
        const itemIds = leased.rows.map((row) => row.item_id);
        const [items, predictions] = await Promise.all([itemsById(tx, itemIds), latestProbabilities(tx, itemIds)]);
        const heldSet = new Set(heldIds);
        const tasks = leased.rows
          .map((row) => ({ row, heldBefore: heldSet.has(row.id) }))
          .sort(
            (a, b) =>
              Number(b.heldBefore) - Number(a.heldBefore) ||
              a.row.priority - b.row.priority ||
              a.row.id.localeCompare(b.row.id),
          )
          .map(({ row, heldBefore }): LeasedTask => ({
            item: items.get(row.item_id)!,
            reason: row.reason,
            modelVersion: row.model_version,
            subjectLabel: row.subject_label,
            leaseExpiresAt: row.lease_expires_at!,
            heldBefore,
            probabilities: predictions.get(row.item_id) ?? null,
          }));
        return tasks;
      }),
    );
    // After the commit (PGlite has one connection): counted with this lease taken.
    return { tasks, remaining: await this.remaining.of(dataset.id) };
  }

  /**
   * Applies one answer in its own transaction: the item row is locked first (as every label change
   * does), then its task; a refusal changes nothing. LABEL sets a human label through the label
   * history, NOT_IN_CLASSES excludes the item, both delete the task; SKIP releases it to the back of
   * the queue. An audit answer also records the audit result.
   */
  async answer(datasetId: string, actor: string, answer: ReviewAnswer): Promise<AppliedAnswer> {
    const refused = ({ code, reason }: Refusal): AppliedAnswer => ({
      result: { itemId: answer.itemId, accepted: false, code, reason },
      labelChanged: false,
      newLabelSource: null,
    });
    const noTask: Refusal = { code: 'not_leased', reason: 'the item has no open review task' };
    if (!isUuid(answer.itemId)) return refused(noTask);
    const applied = await retryOnConflict(() =>
      this.db.transaction(async (tx): Promise<AppliedAnswer> => {
        const locked = await tx.query<ItemRow>(
          `SELECT ${ITEM_COLUMNS} FROM dataset.items WHERE id = $1 AND dataset_id = $2 FOR UPDATE`,
          [answer.itemId, datasetId],
        );
        if (!locked.rows[0]) return refused(noTask);
        const item = itemFromRow(locked.rows[0]);
        const taskRows = await tx.query<TaskRow>(
          `SELECT id, item_id, reason, priority, model_version, subject_label, leased_by, lease_expires_at,
                  coalesce(lease_expires_at > now(), false) AS lease_live
             FROM dataset.review_tasks WHERE item_id = $1 FOR UPDATE`,
          [item.id],
        );
        const task = taskRows.rows[0] ? taskState(taskRows.rows[0]) : undefined;
        const dataset = await this.datasets.get(datasetId, tx);
        const refusal = leaseRefusal(task, actor) ?? answerRefusal(answer, dataset.classes);
        if (refusal || !task) return refused(refusal ?? noTask);

        let outcome: { item: Item; changed: boolean } = { item, changed: false };
        if (answer.action === 'label') {
          outcome = await this.items.setLabelIn(
            tx,
            item.id,
            { value: answer.label, source: 'human', actor, confidence: null, modelVersion: '' },
            item,
            dataset,
          );
        } else if (answer.action === 'not_in_classes') {
          outcome = await this.items.excludeItemIn(tx, item.id, actor);
        } else {
          // Skipped: back to the end of the queue, free for anyone.
          await tx.query(
            `UPDATE dataset.review_tasks
                SET leased_by = NULL, lease_expires_at = NULL, skips = skips + 1,
                    priority = (SELECT max(priority) + 1 FROM dataset.review_tasks WHERE dataset_id = $2)
              WHERE item_id = $1`,
            [item.id, datasetId],
          );
        }
        if (answer.action !== 'skip') {
          await tx.query('DELETE FROM dataset.review_tasks WHERE item_id = $1', [item.id]);
        }
        const audit = auditOutcome(task, answer);
        if (audit) {
          await tx.query(
            `INSERT INTO dataset.audit_results (item_id, model_version, dataset_id, model_label, human_label, correct, actor)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (item_id, model_version) DO NOTHING`,
            [item.id, audit.modelVersion, datasetId, audit.modelLabel, audit.humanLabel, audit.correct, actor],
          );
        }
        return {
          result: { itemId: item.id, accepted: true, item: outcome.item },
          ...(audit ? { audit } : {}),
          labelChanged: outcome.changed,
          newLabelSource: outcome.changed && answer.action === 'label' ? 'human' : null,
        };
      }),
    );
    if (applied.labelChanged) this.items.afterLabelCommit(applied.newLabelSource);
    return applied;
  }

  /** Audits answered for one model version and how many found the model's label wrong. */
  async auditCounts(datasetId: string, modelVersion: number): Promise<AuditCounts> {
    const { rows } = await this.db.query<AuditCounts>(
      `SELECT count(*) AS audited, count(*) FILTER (WHERE NOT correct) AS errors
         FROM dataset.audit_results WHERE dataset_id = $1 AND model_version = $2`,
      [datasetId, modelVersion],
    );
    return rows[0]!;
  }

  /**
   * A failed audit, handled once per (dataset, version) in one transaction: the version's remaining
   * model labels are removed through the label history, their items go to the front of the queue as
   * 'uncertain' (best acquisition score first), and the dataset's error scale is halved.
   */
  async recordFailedAudit(input: FailedAuditInput): Promise<FailedAuditOutcome> {
    const { datasetId, modelVersion } = input;
    const outcome = await retryOnConflict(() =>
      this.db.transaction(async (tx): Promise<FailedAuditOutcome & { changed: boolean }> => {
        const first = await tx.query(
          `INSERT INTO dataset.audit_failures (dataset_id, model_version, audited, errors, error_upper_bound)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT (dataset_id, model_version) DO NOTHING RETURNING model_version`,
          [datasetId, modelVersion, input.counts.audited, input.counts.errors, input.upperBound],
        );
        if (first.rows.length === 0) {
          const { rows } = await tx.query<{ al_error_scale: number }>(
            'SELECT al_error_scale FROM dataset.datasets WHERE id = $1',
            [datasetId],
          );
          return { firstTime: false, revokedLabels: 0, errorScale: rows[0]!.al_error_scale, changed: false };
        }
        const revoked = await revokeModelLabels(tx, datasetId, modelVersion, input.actor);
        await enqueueAtFront(tx, datasetId, modelVersion, revoked);
        const scaled = await tx.query<{ al_error_scale: number }>(
          'UPDATE dataset.datasets SET al_error_scale = al_error_scale / 2 WHERE id = $1 RETURNING al_error_scale',
          [datasetId],
        );
        await tx.query(
          'UPDATE dataset.audit_failures SET revoked_labels = $3 WHERE dataset_id = $1 AND model_version = $2',
          [datasetId, modelVersion, revoked.length],
        );
        return {
          firstTime: true,
          revokedLabels: revoked.length,
          errorScale: scaled.rows[0]!.al_error_scale,
          changed: revoked.length > 0,
        };
      }),
    );
    if (outcome.changed) this.items.afterLabelCommit(null);
    const { changed: _changed, ...result } = outcome;
    return result;
  }

  /** The newest model version with a finished (SUCCEEDED) scoring job, if any. */
  async latestScoredVersion(datasetId: string): Promise<number | undefined> {
    const { rows } = await this.db.query<{ v: number | null }>(
      `SELECT max(model_version) AS v FROM dataset.scoring_jobs WHERE dataset_id = $1 AND status = 'SUCCEEDED'`,
      [datasetId],
    );
    return rows[0]?.v ?? undefined;
  }

  /** Open tasks by reason (those still worth serving), and how many of them are under a live lease. */
  async queueDepth(datasetId: string): Promise<QueueDepth> {
    const { rows } = await this.db.query<{ reason: ReviewReason; n: number; leased: number }>(
      `SELECT reason, count(*) AS n, count(*) FILTER (WHERE leased_by IS NOT NULL AND lease_expires_at > now()) AS leased
         FROM dataset.review_tasks t WHERE dataset_id = $1 AND ${SERVABLE} GROUP BY reason`,
      [datasetId],
    );
    const depth: QueueDepth = { uncertain: 0, audit: 0, suspectedLabelError: 0, leased: 0 };
    for (const row of rows) {
      if (row.reason === 'uncertain') depth.uncertain = row.n;
      if (row.reason === 'audit') depth.audit = row.n;
      if (row.reason === 'suspected_label_error') depth.suspectedLabelError = row.n;
      depth.leased += row.leased;
    }
    return depth;
  }

  /** Audit counts of every model version of the dataset. */
  async auditCountsByVersion(datasetId: string): Promise<Map<number, AuditCounts>> {
    const { rows } = await this.db.query<AuditCounts & { model_version: number }>(
      `SELECT model_version, count(*) AS audited, count(*) FILTER (WHERE NOT correct) AS errors
         FROM dataset.audit_results WHERE dataset_id = $1 GROUP BY model_version`,
      [datasetId],
    );
    return new Map(rows.map((row) => [row.model_version, { audited: row.audited, errors: row.errors }]));
  }

  /** Current labels by source (excluded items have none). */
  async labelCounts(datasetId: string): Promise<Record<LabelSource, number>> {
    const { rows } = await this.db.query<{ source: LabelSource; n: number }>(
      `SELECT label_source AS source, count(*) AS n FROM dataset.items
        WHERE dataset_id = $1 AND label_source IS NOT NULL GROUP BY label_source`,
      [datasetId],
    );
    const counts: Record<LabelSource, number> = { human: 0, model: 0, import: 0 };
    for (const row of rows) counts[row.source] = row.n;
    return counts;
  }

  /** Successful scoring jobs' decisions (jsonb as the scoring code wrote it), newest version first. */
  async scoredVersions(datasetId: string): Promise<Array<{ modelVersion: number; decision: AutoLabelDecision | null }>> {
    const { rows } = await this.db.query<{ model_version: number; decision: AutoLabelDecision | null }>(
      `SELECT model_version, decision FROM dataset.scoring_jobs
        WHERE dataset_id = $1 AND status = 'SUCCEEDED' ORDER BY model_version DESC`,
      [datasetId],
    );
    return rows.map((row) => ({ modelVersion: row.model_version, decision: row.decision }));
  }

  /** For the metrics: open tasks per dataset and reason. */
  async queueDepthsOfAllDatasets(): Promise<Array<{ datasetId: string; reason: ReviewReason; n: number }>> {
    // Every dataset and reason, so a queue that emptied reads 0 rather than vanishing.
    const { rows } = await this.db.query<{ dataset_id: string; reason: ReviewReason; n: number }>(
      `SELECT d.id AS dataset_id, r.reason, count(t.id) AS n
         FROM dataset.datasets d
        CROSS JOIN unnest($1::text[]) AS r (reason)
         LEFT JOIN dataset.review_tasks t ON t.dataset_id = d.id AND t.reason = r.reason AND ${SERVABLE}
        WHERE d.deleted_at IS NULL
        GROUP BY d.id, r.reason`,
      [[...REVIEW_REASONS]],
    );
    return rows.map((row) => ({ datasetId: row.dataset_id, reason: row.reason, n: row.n }));
  }

  /** Live datasets with at least one finished scoring (the labels-saved gauge reports these). */
  async datasetsWithScorings(): Promise<string[]> {
    const { rows } = await this.db.query<{ dataset_id: string }>(
      `SELECT DISTINCT j.dataset_id FROM dataset.scoring_jobs j JOIN dataset.datasets d ON d.id = j.dataset_id
        WHERE j.status = 'SUCCEEDED' AND d.deleted_at IS NULL`,
    );
    return rows.map((row) => row.dataset_id);
  }

  /** For the metrics: audit counts per dataset and model version, with the dataset's ε and confidence. */
  async auditsOfAllDatasets(): Promise<
    Array<AuditCounts & { datasetId: string; modelVersion: number; targetError: number; confidence: number }>
  > {
    const { rows } = await this.db.query<
      AuditCounts & { dataset_id: string; model_version: number; al_target_error: number; al_confidence: number }
    >(
      `SELECT a.dataset_id, a.model_version, count(*) AS audited, count(*) FILTER (WHERE NOT a.correct) AS errors,
              d.al_target_error, d.al_confidence
         FROM dataset.audit_results a JOIN dataset.datasets d ON d.id = a.dataset_id
        WHERE d.deleted_at IS NULL
        GROUP BY a.dataset_id, a.model_version, d.al_target_error, d.al_confidence`,
    );
    return rows.map((row) => ({
      datasetId: row.dataset_id,
      modelVersion: row.model_version,
      audited: row.audited,
      errors: row.errors,
      targetError: row.al_target_error,
      confidence: row.al_confidence,
    }));
  }
}

function taskState(row: TaskRow): TaskState {
  return {
    reason: row.reason,
    modelVersion: row.model_version,
    subjectLabel: row.subject_label,
    leasedBy: row.leased_by,
    leaseLive: row.lease_live,
  };
}

async function itemsById(q: Queryable, ids: readonly string[]): Promise<Map<string, Item>> {
  if (ids.length === 0) return new Map();
  const { rows } = await q.query<ItemRow>(`SELECT ${ITEM_COLUMNS} FROM dataset.items WHERE id = ANY($1::uuid[])`, [
    [...ids],
  ]);
  return new Map(rows.map((row) => [row.id, itemFromRow(row)]));
}

async function latestProbabilities(q: Queryable, itemIds: readonly string[]): Promise<Map<string, number[]>> {
  if (itemIds.length === 0) return new Map();
  const { rows } = await q.query<{ item_id: string; probabilities: number[] }>(
    `SELECT DISTINCT ON (item_id) item_id, probabilities FROM dataset.predictions
      WHERE item_id = ANY($1::uuid[]) ORDER BY item_id, model_version DESC`,
    [[...itemIds]],
  );
  return new Map(rows.map((row) => [row.item_id, row.probabilities.map(Number)]));
}

/**
 * Removes every label the model version gave in the dataset, as ItemRepository.removeLabelIn would
 * one by one (history row with an empty value, split cleared, ItemLabeled event with an empty
 * label), in a few set-based statements: a failed audit may revoke thousands. Model labels hold no
 * stratification counters. The rows are locked with their condition re-checked, so an item a
 * reviewer labelled meanwhile keeps its label. Returns the item ids, in ingestion order.
 */
async function revokeModelLabels(tx: Queryable, datasetId: string, modelVersion: number, actor: string) {
  const locked = await tx.query<{ id: string; label: string }>(
    `SELECT id, label FROM dataset.items
      WHERE dataset_id = $1 AND label_source = 'model' AND label_model_version = $2
      ORDER BY seq FOR UPDATE`,
    [datasetId, String(modelVersion)],
  );
  const revoked: string[] = [];
  for (let start = 0; start < locked.rows.length; start += REVOKE_CHUNK) {
    const chunk = locked.rows.slice(start, start + REVOKE_CHUNK);
    const previous = new Map(chunk.map((row) => [row.id, row.label]));
    const updated = await tx.query<ItemRow>(
      `UPDATE dataset.items
          SET label = NULL, label_source = NULL, label_actor = NULL, label_confidence = NULL,
              label_model_version = NULL, labeled_at = NULL, label_version = label_version + 1, split = NULL
        WHERE id = ANY($1::uuid[]) RETURNING ${ITEM_COLUMNS}`,
      [[...previous.keys()]],
    );
    const items = updated.rows.map(itemFromRow).sort((a, b) => a.seq - b.seq);
    await tx.query(
      `INSERT INTO dataset.item_labels (id, item_id, value, source, actor, confidence, model_version, version)
       SELECT u.id, u.item_id, '', 'model', $3, NULL, '', u.version
         FROM unnest($1::uuid[], $2::uuid[], $4::bigint[]) AS u(id, item_id, version)`,
      [items.map(() => randomUUID()), items.map((item) => item.id), actor, items.map((item) => item.labelVersion)],
    );
    await enqueueMany(
      tx,
      items.map((item) => itemLabelRemovedEvent(item, previous.get(item.id)!, actor)),
    );
    revoked.push(...items.map((item) => item.id));
  }
  return revoked;
}

/**
 * Items whose auto-labels were revoked go before everything queued (their priorities are below
 * the dataset's lowest), ordered by their latest prediction's acquisition score, best first.
 * An item that already has a task (an audit not answered yet) keeps it.
 */
async function enqueueAtFront(tx: Queryable, datasetId: string, modelVersion: number, itemIds: string[]) {
  if (itemIds.length === 0) return;
  await tx.query(
    `WITH base AS (
       SELECT least(coalesce(min(priority), 0), 0) AS p FROM dataset.review_tasks WHERE dataset_id = $1
     ), ranked AS (
       SELECT i.id AS item_id, coalesce(p.model_version, $3) AS model_version,
              row_number() OVER (ORDER BY p.acquisition_score DESC NULLS LAST, i.seq) AS rank
         FROM dataset.items i
         LEFT JOIN LATERAL (
           SELECT model_version, acquisition_score FROM dataset.predictions pr
            WHERE pr.item_id = i.id ORDER BY model_version DESC LIMIT 1) p ON true
        WHERE i.id = ANY($2::uuid[])
     )
     INSERT INTO dataset.review_tasks (id, dataset_id, item_id, reason, priority, model_version)
     SELECT gen_random_uuid(), $1, ranked.item_id, 'uncertain', base.p - $4 - 1 + ranked.rank, ranked.model_version
       FROM ranked, base
     ON CONFLICT (item_id) DO NOTHING`,
    [datasetId, itemIds, modelVersion, itemIds.length],
  );
}

/**
 * Label changes lock item rows and class counters; a transaction that locks several items (a
 * revocation, a finalization) can meet a reviewer's answer in the other order. PostgreSQL then
 * aborts one of them: that one simply runs again.
 */
async function retryOnConflict<T>(run: () => Promise<T>, attempts = 4): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (attempt >= attempts || (code !== DEADLOCK && code !== SERIALIZATION_FAILURE)) throw err;
      await new Promise((resolve) => setTimeout(resolve, 10 * attempt + Math.random() * 20));
    }
  }
}
