// What a failed audit does to the labels of the model version it audited, inside the caller's
// transaction: every label that version gave is revoked (set-based, through the label history),
// and those items go to the front of the review queue.
import { randomUUID } from 'node:crypto';
import type { Queryable } from '@labelloop/storage';
import { enqueueMany, itemLabelRemovedEvent } from './outbox-events.js';
import { ITEM_COLUMNS, itemFromRow, type ItemRow } from './rows.js';

/** Labels per statement when a failed audit revokes a version's labels. */
const REVOKE_CHUNK = 1000;

/**
 * Removes every label the model version gave in the dataset, as ItemRepository.removeLabelIn would
 * one by one (history row with an empty value, split cleared, ItemLabeled event with an empty
 * label), in a few set-based statements: a failed audit may revoke thousands. Model labels hold no
 * stratification counters. The rows are locked with their condition re-checked, so an item a
 * reviewer labelled meanwhile keeps its label. Returns the item ids, in ingestion order.
 */
export async function revokeModelLabels(tx: Queryable, datasetId: string, modelVersion: number, actor: string) {
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
export async function enqueueAtFront(tx: Queryable, datasetId: string, modelVersion: number, itemIds: string[]) {
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
