import { randomUUID } from 'node:crypto';
import { FailedPreconditionError } from '@labelloop/common';
import type { Queryable } from '@labelloop/storage';
import { classesToLock, isTrusted, planLabelChange, planLabelRemoval, type CountRef } from '../domain/label-plan.js';
import type { SplitCounts } from '../domain/stratify.js';
import type { Dataset, Item, LabelRemoval, LabelRequest } from '../domain/types.js';
import { enqueueItemLabeled, enqueueMany, itemLabelRemovedEvent } from './outbox-events.js';
import { ITEM_COLUMNS, itemFromRow, type ItemRow } from './rows.js';

// Applies one label change inside the caller's transaction. The caller holds the item row
// (SELECT ... FOR UPDATE); this takes the counter rows of the classes involved, in name order,
// so two changes of the same class serialise and no two transactions wait on each other.

interface CounterRow extends SplitCounts {
  class: string;
}

// Column names cannot be bind parameters; these are the only three that can appear.
const COUNTER_COLUMN = { train: 'train', validation: 'validation', test: 'test' } as const;

export async function applyLabel(
  tx: Queryable,
  dataset: Dataset,
  item: Item,
  request: LabelRequest,
): Promise<{ item: Item; changed: boolean }> {
  // A reviewer said the item belongs to no class: models may not label it; a person (or an
  // import) who labels it anyway brings it back.
  if (item.excludedAt && !isTrusted(request.source)) {
    throw new FailedPreconditionError(`item "${item.id}" is excluded (not in the dataset's classes)`);
  }
  const state = { label: item.label, split: item.split, labelVersion: item.labelVersion };
  const { rows } = await tx.query<CounterRow>(
    `SELECT class, train, validation, test FROM dataset.class_split_counts
      WHERE dataset_id = $1 AND class = ANY($2::text[]) ORDER BY class FOR UPDATE`,
    [dataset.id, classesToLock(state, request)],
  );
  const counts = rows.find((row) => row.class === request.value);
  if (!counts) throw new Error(`class_split_counts has no row for class "${request.value}" of dataset ${dataset.id}`);

  const plan = planLabelChange(state, request, counts, dataset.splits);
  if (plan.kind === 'noop') return { item, changed: false };
  if (plan.release) await moveCounter(tx, dataset.id, plan.release, -1);
  if (plan.take) await moveCounter(tx, dataset.id, plan.take, +1);

  const updated = await tx.query<ItemRow>(
    `UPDATE dataset.items
        SET label = $2, label_source = $3, label_actor = $4, label_confidence = $5, label_model_version = $6,
            labeled_at = now(), label_version = $7, split = $8, excluded_at = NULL
      WHERE id = $1 RETURNING ${ITEM_COLUMNS}`,
    [
      item.id,
      request.value,
      request.source,
      request.actor,
      request.confidence,
      request.modelVersion,
      plan.version,
      plan.split,
    ],
  );
  await tx.query(
    `INSERT INTO dataset.item_labels (id, item_id, value, source, actor, confidence, model_version, version)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [
      randomUUID(),
      item.id,
      request.value,
      request.source,
      request.actor,
      request.confidence,
      request.modelVersion,
      plan.version,
    ],
  );
  const labelled = itemFromRow(updated.rows[0]!);
  await enqueueItemLabeled(tx, labelled, item.label?.value ?? null);
  return { item: labelled, changed: true };
}

/**
 * Removes the item's label inside the caller's transaction (the caller holds the item row, FOR
 * UPDATE): a history row with an empty value, the trusted counter released, the split cleared,
 * an ItemLabeled event with an empty label. `exclude` also marks the item excluded.
 */
export async function removeLabel(
  tx: Queryable,
  dataset: Dataset,
  item: Item,
  removal: LabelRemoval,
  exclude = false,
): Promise<{ item: Item; changed: boolean }> {
  const plan = planLabelRemoval({ label: item.label, split: item.split, labelVersion: item.labelVersion });
  if (plan.kind === 'noop') {
    if (!exclude || item.excludedAt) return { item, changed: false };
    const { rows } = await tx.query<ItemRow>(
      `UPDATE dataset.items SET excluded_at = now() WHERE id = $1 RETURNING ${ITEM_COLUMNS}`,
      [item.id],
    );
    return { item: itemFromRow(rows[0]!), changed: true };
  }
  if (plan.release) {
    await tx.query(
      'SELECT class FROM dataset.class_split_counts WHERE dataset_id = $1 AND class = $2 FOR UPDATE',
      [dataset.id, plan.release.className],
    );
    await moveCounter(tx, dataset.id, plan.release, -1);
  }
  const { rows } = await tx.query<ItemRow>(
    `UPDATE dataset.items
        SET label = NULL, label_source = NULL, label_actor = NULL, label_confidence = NULL,
            label_model_version = NULL, labeled_at = NULL, label_version = $2, split = NULL,
            excluded_at = CASE WHEN $3::boolean THEN coalesce(excluded_at, now()) ELSE excluded_at END
      WHERE id = $1 RETURNING ${ITEM_COLUMNS}`,
    [item.id, plan.version, exclude],
  );
  await tx.query(
    `INSERT INTO dataset.item_labels (id, item_id, value, source, actor, confidence, model_version, version)
     VALUES ($1, $2, '', $3, $4, NULL, '', $5)`,
    [randomUUID(), item.id, removal.source, removal.actor, plan.version],
  );
  const updated = itemFromRow(rows[0]!);
  await enqueueMany(tx, [itemLabelRemovedEvent(updated, item.label!.value, removal.actor)]);
  return { item: updated, changed: true };
}

async function moveCounter(tx: Queryable, datasetId: string, ref: CountRef, delta: 1 | -1): Promise<void> {
  const column = COUNTER_COLUMN[ref.split];
  await tx.query(
    `UPDATE dataset.class_split_counts SET ${column} = ${column} + $3 WHERE dataset_id = $1 AND class = $2`,
    [datasetId, ref.className, delta],
  );
}
