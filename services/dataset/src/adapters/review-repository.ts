import { retryOnConflict, type Database, type Queryable } from '@labelloop/storage';
import {
  answerRefusal,
  auditOutcome,
  leaseRefusal,
  type AuditOutcome,
  type Refusal,
  type TaskState,
} from '../domain/review/answer-rules.js';
import type { AnswerResult, AuditCounts, ReviewAnswer, ReviewReason } from '../domain/review/types.js';
import type { Dataset, Item, LabelSource } from '../domain/types.js';
import type { DatasetRepository } from './dataset-repository.js';
import { enqueueAtFront, revokeModelLabels } from './audit-revocation.js';
import type { ItemRepository } from './item-repository.js';
import { RemainingCount } from './remaining-count.js';
import { ITEM_COLUMNS, isUuid, itemFromRow, type ItemRow } from './rows.js';

// The review queue in PostgreSQL (review_tasks, audit_results, audit_failures); its figures for the
// report are in review-report-repository.ts, a failed audit's revocation in audit-revocation.ts.
// Leases are taken with FOR UPDATE SKIP LOCKED, so concurrent reviewers on a real server never
// receive the same task; on PGlite (one connection) transactions run one after another, which is
// just as safe.

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
export const SERVABLE = `NOT EXISTS (
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
