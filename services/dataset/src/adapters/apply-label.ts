import { randomUUID } from 'node:crypto';
import type { Queryable } from '@labelloop/storage';
import { classesToLock, planLabelChange, type CountRef } from '../domain/label-plan.js';
import type { SplitCounts } from '../domain/stratify.js';
import type { Dataset, Item, LabelRequest } from '../domain/types.js';
import { enqueueItemLabeled } from './outbox-events.js';
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
            labeled_at = now(), label_version = $7, split = $8
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

async function moveCounter(tx: Queryable, datasetId: string, ref: CountRef, delta: 1 | -1): Promise<void> {
  const column = COUNTER_COLUMN[ref.split];
  await tx.query(
    `UPDATE dataset.class_split_counts SET ${column} = ${column} + $3 WHERE dataset_id = $1 AND class = $2`,
    [datasetId, ref.className, delta],
  );
}
