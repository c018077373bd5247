import { NotFoundError } from '@labelloop/common';
import type { Database, Queryable } from '@labelloop/storage';
import { validateLabelRequest } from '../domain/label-plan.js';
import type { Dataset, Item, ItemStatus, LabelEvent, LabelRequest, LabelSource, Split } from '../domain/types.js';
import { applyLabel } from './apply-label.js';
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
    if (!isUuid(itemId)) throw new NotFoundError(`item "${itemId}" not found`);
    const result = await this.db.transaction(async (tx) => {
      const item = await selectItem(tx, 'id = $1', [itemId], 'FOR UPDATE');
      if (!item) throw new NotFoundError(`item "${itemId}" not found`);
      if (onlyIfUnlabelled && item.label) return { item, changed: false };
      const dataset = await this.datasets.get(item.datasetId, tx);
      validateLabelRequest(dataset.classes, request);
      return applyLabel(tx, dataset, item, request);
    });
    if (result.changed) {
      this.hooks.eventsCommitted();
      this.hooks.labelApplied(request.source);
    }
    return result;
  }

  /** Up to `limit` items after `afterSeq` matching the filter, in ingestion order. */
  async list(datasetId: string, filter: ItemFilter, limit: number, afterSeq = 0): Promise<Item[]> {
    const params: unknown[] = [datasetId, afterSeq];
    const where = ['dataset_id = $1', 'seq > $2'];
    const add = (condition: (placeholder: string) => string, value: unknown) => {
      params.push(value);
      where.push(condition(`$${params.length}`));
    };
    if (filter.status === 'labelled') where.push('label IS NOT NULL');
    if (filter.status === 'unlabelled') where.push('label IS NULL');
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

async function selectItem(q: Queryable, where: string, params: unknown[], lock = ''): Promise<Item | undefined> {
  const { rows } = await q.query<ItemRow>(`SELECT ${ITEM_COLUMNS} FROM dataset.items WHERE ${where} ${lock}`, params);
  return rows[0] ? itemFromRow(rows[0]) : undefined;
}
