// Items and their labels. For code in this service that changes labels outside SetLabel (review
// answers, audits), inside a caller's transaction:
//   setLabelIn(tx, itemId, request)              — the SetLabel path;
//   removeLabelIn(tx, itemId, { actor, source }) — history row with an empty value, item unlabelled;
//   excludeItemIn(tx, itemId, actor)             — "not in classes": excluded_at set, label removed;
// then items.afterLabelCommit(source | null) once the transaction committed; removeLabel /
// excludeItem do the same in their own transaction. Model labels change in bulk in scoring-writes.ts.
import { NotFoundError } from '@labelloop/common';
import type { Database, Queryable } from '@labelloop/storage';
import { validateLabelRequest } from '../domain/label-plan.js';
import type {
  Dataset,
  Item,
  ItemStatus,
  LabelEvent,
  LabelRemoval,
  LabelRequest,
  LabelSource,
  Split,
} from '../domain/types.js';
import { applyLabel, removeLabel } from './apply-label.js';
import { insertItems } from './insert-items.js';
import type { DatasetRepository } from './dataset-repository.js';
import type { RepositoryHooks } from './hooks.js';
import { ITEM_COLUMNS, isUuid, itemFromRow, labelEventFromRow, type ItemRow, type LabelRow } from './rows.js';

export interface NewItem {
  sha256: string;
  fileName: string;
  width: number;
  height: number;
  format: string;
  sizeBytes: number;
  importId: string | null;
}

export interface ItemFilter {
  status?: ItemStatus;
  label?: string;
  split?: Split;
  source?: LabelSource;
}

export interface ExportFilter {
  /** Empty: every source. */
  sources: LabelSource[];
  minConfidence?: number;
}

/** Position in export order (split, label, file_name, id). */
export interface ExportKey {
  split: Split;
  label: string;
  fileName: string;
  id: string;
}

export class ItemRepository {
  constructor(
    private readonly db: Database,
    private readonly datasets: DatasetRepository,
    private readonly hooks: RepositoryHooks,
  ) {}

  async get(id: string): Promise<Item> {
    const item = isUuid(id) ? await selectItem(this.db, 'id = $1', [id]) : undefined;
    if (!item) throw new NotFoundError(`item "${id}" not found`);
    return item;
  }

  findBySha(datasetId: string, sha256: string): Promise<Item | undefined> {
    return selectItem(this.db, 'dataset_id = $1 AND sha256 = $2', [datasetId, sha256]);
  }

  /** The dataset's items with any of these hashes, by hash. */
  async findManyBySha(datasetId: string, sha256s: readonly string[]): Promise<Map<string, Item>> {
    const { rows } = await this.db.query<ItemRow>(
      `SELECT ${ITEM_COLUMNS} FROM dataset.items WHERE dataset_id = $1 AND sha256 = ANY($2::text[])`,
      [datasetId, [...sha256s]],
    );
    return new Map(rows.map((row) => [row.sha256, itemFromRow(row)]));
  }

  /**
   * Inserts the item with its ItemIngested event (and its first label, if any) in one
   * transaction. When the same bytes won a race, returns that item with created false.
   */
  async insert(dataset: Dataset, input: NewItem, label?: LabelRequest): Promise<{ item: Item; created: boolean }> {
    return (await this.insertMany(dataset, [{ item: input, label }]))[0]!;
  }

  /** insert() for several items in ONE transaction (one commit for the lot); results in order. */
  async insertMany(
    dataset: Dataset,
    entries: ReadonlyArray<{ item: NewItem; label?: LabelRequest | undefined }>,
  ): Promise<Array<{ item: Item; created: boolean }>> {
    if (entries.length === 0) return [];
    const inserted = await this.db.transaction((tx) => insertItems(tx, dataset, entries));
    const results: Array<{ item: Item; created: boolean }> = [];
    for (const [i, item] of inserted.entries()) {
      if (item) {
        results.push({ item, created: true });
        continue;
      }
      const { sha256 } = entries[i]!.item;
      const existing = await this.findBySha(dataset.id, sha256);
      if (!existing) throw new Error(`item ${sha256} conflicted on insert but cannot be found`);
      results.push({ item: existing, created: false });
    }
    if (inserted.some((item) => item)) this.hooks.eventsCommitted();
    entries.forEach(({ label }, i) => {
      if (label && inserted[i]) this.hooks.labelApplied(label.source);
    });
    return results;
  }

  /** SetLabel: validated against the dataset's classes as they are inside the transaction. */
  setLabel(itemId: string, request: LabelRequest): Promise<{ item: Item; changed: boolean }> {
    return this.labelLocked(itemId, request, false);
  }

  /** Labels a (duplicate) item only if it has no label yet. */
  labelIfUnlabelled(itemId: string, request: LabelRequest): Promise<{ item: Item; changed: boolean }> {
    return this.labelLocked(itemId, request, true);
  }

  private async labelLocked(itemId: string, request: LabelRequest, onlyIfUnlabelled: boolean) {
    const result = await this.db.transaction(async (tx) => {
      const item = await lockItem(tx, itemId);
      if (onlyIfUnlabelled && item.label) return { item, changed: false };
      return this.setLabelIn(tx, item.id, request, item);
    });
    if (result.changed) this.afterLabelCommit(request.source);
    return result;
  }

  // The *In methods work inside the caller's transaction (review answers change a label and their
  // task together): they lock the item row, and the caller calls afterLabelCommit(...) once its
  // transaction has committed with a change.

  /**
   * SetLabel inside `tx`; `locked` when the caller already holds the item row, `dataset` when it
   * has just read the item's dataset in this transaction (one query less on the review hot path).
   */
  async setLabelIn(
    tx: Queryable,
    itemId: string,
    request: LabelRequest,
    locked?: Item,
    dataset?: Dataset,
  ): Promise<{ item: Item; changed: boolean }> {
    const item = locked ?? (await lockItem(tx, itemId));
    if (dataset && dataset.id !== item.datasetId) throw new Error(`item ${item.id} is not of dataset ${dataset.id}`);
    dataset ??= await this.datasets.get(item.datasetId, tx);
    validateLabelRequest(dataset.classes, request);
    return applyLabel(tx, dataset, item, request);
  }

  /**
   * Removes the item's label inside `tx`: history row with an empty value (source and actor from
   * `removal`), trusted counter released, item back to unlabelled. No label: changed false.
   */
  async removeLabelIn(tx: Queryable, itemId: string, removal: LabelRemoval): Promise<{ item: Item; changed: boolean }> {
    const item = await lockItem(tx, itemId);
    return removeLabel(tx, await this.datasets.get(item.datasetId, tx), item, removal);
  }

  /**
   * "Not in classes" inside `tx`: sets excluded_at and removes the label (history row by `actor`,
   * source human). Already excluded: changed false.
   */
  async excludeItemIn(tx: Queryable, itemId: string, actor: string): Promise<{ item: Item; changed: boolean }> {
    const item = await lockItem(tx, itemId);
    return removeLabel(tx, await this.datasets.get(item.datasetId, tx), item, { actor, source: 'human' }, true);
  }

  /** removeLabelIn in its own transaction. */
  async removeLabel(itemId: string, removal: LabelRemoval): Promise<{ item: Item; changed: boolean }> {
    const result = await this.db.transaction((tx) => this.removeLabelIn(tx, itemId, removal));
    if (result.changed) this.afterLabelCommit(null);
    return result;
  }

  /** excludeItemIn in its own transaction. */
  async excludeItem(itemId: string, actor: string): Promise<{ item: Item; changed: boolean }> {
    const result = await this.db.transaction((tx) => this.excludeItemIn(tx, itemId, actor));
    if (result.changed) this.afterLabelCommit(null);
    return result;
  }

  /** After a transaction with label changes committed: publish its events now; count a new label. */
  afterLabelCommit(source: LabelSource | null): void {
    this.hooks.eventsCommitted();
    if (source) this.hooks.labelApplied(source);
  }

  /** Up to `limit` items after `afterSeq` matching the filter, in ingestion order. */
  async list(datasetId: string, filter: ItemFilter, limit: number, afterSeq = 0): Promise<Item[]> {
    const params: unknown[] = [datasetId, afterSeq];
    const where = ['dataset_id = $1', 'seq > $2'];
    const add = (condition: (placeholder: string) => string, value: unknown) => {
      params.push(value);
      where.push(condition(`$${params.length}`));
    };
    // Excluded items have no label; they are listed only when asked for.
    if (filter.status === 'labelled') where.push('label IS NOT NULL');
    if (filter.status === 'unlabelled') where.push('label IS NULL AND excluded_at IS NULL');
    if (filter.status === 'excluded') where.push('excluded_at IS NOT NULL');
    if (filter.label !== undefined) add((p) => `label = ${p}`, filter.label);
    if (filter.split !== undefined) add((p) => `split = ${p}::dataset.item_split`, filter.split);
    if (filter.source !== undefined) add((p) => `label_source = ${p}`, filter.source);
    params.push(limit);
    const { rows } = await this.db.query<ItemRow>(
      `SELECT ${ITEM_COLUMNS} FROM dataset.items WHERE ${where.join(' AND ')} ORDER BY seq LIMIT $${params.length}`,
      params,
    );
    return rows.map(itemFromRow);
  }

  /** Oldest first. */
  async history(itemId: string): Promise<LabelEvent[]> {
    await this.get(itemId);
    const { rows } = await this.db.query<LabelRow>(
      `SELECT id, item_id, value, source, actor, confidence, model_version, version, created_at
         FROM dataset.item_labels WHERE item_id = $1 ORDER BY version`,
      [itemId],
    );
    return rows.map(labelEventFromRow);
  }

  /** One page of labelled items in export order, after `after` (keyset, so memory stays flat). */
  async exportPage(datasetId: string, filter: ExportFilter, pageSize: number, after?: ExportKey): Promise<Item[]> {
    const params: unknown[] = [datasetId];
    const where = ['dataset_id = $1', 'label IS NOT NULL'];
    if (filter.sources.length > 0) {
      params.push(filter.sources);
      where.push(`label_source = ANY($${params.length}::text[])`);
    }
    if (filter.minConfidence !== undefined) {
      params.push(filter.minConfidence);
      where.push(`(label_confidence IS NULL OR label_confidence >= $${params.length})`);
    }
    if (after) {
      params.push(after.split, after.label, after.fileName, after.id);
      const n = params.length;
      where.push(`(split, label, file_name, id) > ($${n - 3}::dataset.item_split, $${n - 2}, $${n - 1}, $${n}::uuid)`);
    }
    params.push(pageSize);
    const { rows } = await this.db.query<ItemRow>(
      `SELECT ${ITEM_COLUMNS} FROM dataset.items WHERE ${where.join(' AND ')}
        ORDER BY split, label, file_name, id LIMIT $${params.length}`,
      params,
    );
    return rows.map(itemFromRow);
  }
}

async function lockItem(tx: Queryable, itemId: string): Promise<Item> {
  const item = isUuid(itemId) ? await selectItem(tx, 'id = $1', [itemId], 'FOR UPDATE') : undefined;
  if (!item) throw new NotFoundError(`item "${itemId}" not found`);
  return item;
}

/** Items of a soft-deleted dataset are hidden like the dataset (NOT_FOUND). */
const OF_LIVE_DATASET = 'dataset_id NOT IN (SELECT id FROM dataset.datasets WHERE deleted_at IS NOT NULL)';

async function selectItem(q: Queryable, where: string, params: unknown[], lock = ''): Promise<Item | undefined> {
  const { rows } = await q.query<ItemRow>(
    `SELECT ${ITEM_COLUMNS} FROM dataset.items WHERE ${where} AND ${OF_LIVE_DATASET} ${lock}`,
    params,
  );
  return rows[0] ? itemFromRow(rows[0]) : undefined;
}
