import { randomUUID } from 'node:crypto';
import type { OutboxEvent } from '@labelloop/events';
import type { Queryable } from '@labelloop/storage';
import { planLabelChange } from '../domain/label-plan.js';
import type { SplitCounts } from '../domain/stratify.js';
import type { Dataset, Item, LabelRequest, Split } from '../domain/types.js';
import { enqueueMany, itemIngestedEvent, itemLabeledEvent } from './outbox-events.js';
import { ITEM_COLUMNS, itemFromRow, type ItemRow } from './rows.js';

// New items with their first labels and outbox events, inside the caller's transaction, in a
// fixed handful of multi-row statements whatever the count (an embedded PGlite pays ~1 ms of
// CPU per statement). Same effect as insertItem + applyLabel per item, in the order given.

export interface NewItemRow {
  sha256: string;
  fileName: string;
  width: number;
  height: number;
  format: string;
  sizeBytes: number;
  importId: string | null;
}

interface CounterRow extends SplitCounts {
  class: string;
}

/** One result per entry: the stored item, or undefined where the bytes were already stored. */
export async function insertItems(
  tx: Queryable,
  dataset: Dataset,
  entries: ReadonlyArray<{ item: NewItemRow; label?: LabelRequest | undefined }>,
): Promise<Array<Item | undefined>> {
  if (entries.length === 0) return [];
  // The counter rows of every class involved, locked in name order (the order applyLabel uses).
  const classes = [...new Set(entries.flatMap(({ label }) => (label ? [label.value] : [])))].sort();
  const counts = new Map<string, SplitCounts>();
  if (classes.length > 0) {
    const { rows } = await tx.query<CounterRow>(
      `SELECT class, train, validation, test FROM dataset.class_split_counts
        WHERE dataset_id = $1 AND class = ANY($2::text[]) ORDER BY class FOR UPDATE`,
      [dataset.id, classes],
    );
    for (const row of rows) counts.set(row.class, { train: row.train, validation: row.validation, test: row.test });
  }

  const params: unknown[] = [];
  const values = entries.map(({ item }) => {
    params.push(randomUUID(), dataset.id, item.sha256, item.fileName, item.width, item.height, item.format, item.sizeBytes, item.importId);
    return placeholders(params.length - 8, 9);
  });
  const inserted = await tx.query<ItemRow>(
    `INSERT INTO dataset.items (id, dataset_id, sha256, file_name, width, height, format, size_bytes, import_id)
     VALUES ${values.join(', ')}
     ON CONFLICT (dataset_id, sha256) DO NOTHING RETURNING ${ITEM_COLUMNS}`,
    params,
  );
  const bySha = new Map(inserted.rows.map((row) => [row.sha256, itemFromRow(row)]));
  // take: a hash listed twice is created by its first entry only.
  const take = (sha: string) => {
    const item = bySha.get(sha);
    bySha.delete(sha);
    return item;
  };
  const items = entries.map(({ item }) => take(item.sha256));

  // Plan each first label in order against counters that move as the plans are made.
  const labelled: Array<{ index: number; request: LabelRequest; split: Split; version: number }> = [];
  const deltas = new Map<string, SplitCounts>();
  entries.forEach(({ label }, index) => {
    if (!label || !items[index]) return;
    const current = counts.get(label.value);
    if (!current) throw new Error(`class_split_counts has no row for class "${label.value}" of dataset ${dataset.id}`);
    const plan = planLabelChange({ label: null, split: null, labelVersion: 0 }, label, current, dataset.splits);
    if (plan.kind === 'noop') return;
    if (plan.take) {
      current[plan.take.split] += 1;
      const delta = deltas.get(plan.take.className) ?? { train: 0, validation: 0, test: 0 };
      delta[plan.take.split] += 1;
      deltas.set(plan.take.className, delta);
    }
    labelled.push({ index, request: label, split: plan.split, version: plan.version });
  });
  if (labelled.length > 0) {
    await labelNewItems(tx, labelled.map((l) => ({ ...l, item: items[l.index]! })), (item, index) => (items[index] = item));
    await moveCounters(tx, dataset.id, deltas);
  }

  const events: OutboxEvent[] = [];
  items.forEach((item) => {
    if (!item) return;
    events.push(itemIngestedEvent(item, item.importId));
    if (item.label) events.push(itemLabeledEvent(item, null));
  });
  await enqueueMany(tx, events);
  return items;
}

async function labelNewItems(
  tx: Queryable,
  labelled: ReadonlyArray<{ index: number; item: Item; request: LabelRequest; split: Split; version: number }>,
  update: (item: Item, index: number) => void,
): Promise<void> {
  const params: unknown[] = [];
  const casts = ['uuid', 'text', 'text', 'text', 'double precision', 'text', 'bigint', 'dataset.item_split'];
  const values = labelled.map(({ item, request, split, version }) => {
    params.push(item.id, request.value, request.source, request.actor, request.confidence, request.modelVersion, version, split);
    return placeholders(params.length - 7, 8, casts);
  });
  const { rows } = await tx.query<ItemRow>(
    `UPDATE dataset.items
        SET label = v.v_label, label_source = v.v_source, label_actor = v.v_actor, label_confidence = v.v_confidence,
            label_model_version = v.v_model_version, labeled_at = now(), label_version = v.v_version, split = v.v_split
       FROM (VALUES ${values.join(', ')}) AS v(v_id, v_label, v_source, v_actor, v_confidence, v_model_version, v_version, v_split)
      WHERE id = v.v_id RETURNING ${ITEM_COLUMNS.split(', ').map((c) => `items.${c}`).join(', ')}`,
    params,
  );
  const byId = new Map(rows.map((row) => [row.id, itemFromRow(row)]));
  for (const { index, item } of labelled) update(byId.get(item.id)!, index);

  const history: unknown[] = [];
  const historyValues = labelled.map(({ item, request, version }) => {
    history.push(randomUUID(), item.id, request.value, request.source, request.actor, request.confidence, request.modelVersion, version);
    return placeholders(history.length - 7, 8);
  });
  await tx.query(
    `INSERT INTO dataset.item_labels (id, item_id, value, source, actor, confidence, model_version, version)
     VALUES ${historyValues.join(', ')}`,
    history,
  );
}

async function moveCounters(tx: Queryable, datasetId: string, deltas: Map<string, SplitCounts>): Promise<void> {
  if (deltas.size === 0) return;
  const params: unknown[] = [datasetId];
  const values = [...deltas].map(([className, d]) => {
    params.push(className, d.train, d.validation, d.test);
    return placeholders(params.length - 3, 4, ['text', 'integer', 'integer', 'integer']);
  });
  await tx.query(
    `UPDATE dataset.class_split_counts
        SET train = train + v.d_train, validation = validation + v.d_validation, test = test + v.d_test
       FROM (VALUES ${values.join(', ')}) AS v(v_class, d_train, d_validation, d_test)
      WHERE dataset_id = $1 AND class = v.v_class`,
    params,
  );
}

/** `($first, ..., $first+count-1)`, each with its cast when given. */
function placeholders(first: number, count: number, casts?: readonly string[]): string {
  const list = Array.from({ length: count }, (_, i) => `$${first + i}${casts ? `::${casts[i]}` : ''}`);
  return `(${list.join(', ')})`;
}
