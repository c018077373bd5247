import { randomUUID } from 'node:crypto';
import { NotFoundError } from '@labelloop/common';
import type { Database, Queryable } from '@labelloop/storage';
import { validateLabelRequest } from '../domain/label-plan.js';
import type { Dataset, Item, ItemStatus, LabelEvent, LabelRequest, LabelSource, Split } from '../domain/types.js';
import { applyLabel } from './apply-label.js';
import type { DatasetRepository } from './dataset-repository.js';
import type { RepositoryHooks } from './hooks.js';
import { enqueueItemIngested } from './outbox-events.js';
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

  /**
   * Inserts the item with its ItemIngested event (and its first label, if any) in one
   * transaction. When the same bytes won a race, returns that item with created false.
   */
  async insert(dataset: Dataset, input: NewItem, label?: LabelRequest): Promise<{ item: Item; created: boolean }> {
    const result = await this.db.transaction(async (tx) => {
      const { rows } = await tx.query<ItemRow>(
        `INSERT INTO dataset.items (id, dataset_id, sha256, file_name, width, height, format, size_bytes, import_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (dataset_id, sha256) DO NOTHING RETURNING ${ITEM_COLUMNS}`,
        [
          randomUUID(),
          dataset.id,
          input.sha256,
          input.fileName,
          input.width,
          input.height,
          input.format,
          input.sizeBytes,
          input.importId,
        ],
      );
      if (!rows[0]) return undefined;
      let item = itemFromRow(rows[0]);
      await enqueueItemIngested(tx, item, input.importId);
      if (label) item = (await applyLabel(tx, dataset, item, label)).item;
      return item;
    });
    if (!result) {
      const existing = await this.findBySha(dataset.id, input.sha256);
      if (!existing) throw new Error(`item ${input.sha256} conflicted on insert but cannot be found`);
      return { item: existing, created: false };
    }
    this.hooks.eventsCommitted();
    if (label) this.hooks.labelApplied(label.source);
    return { item: result, created: true };
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
