import { randomUUID } from 'node:crypto';
import { AlreadyExistsError, FailedPreconditionError, NotFoundError } from '@labelloop/common';
import type { Database, Queryable } from '@labelloop/storage';
import type { ExpiredDataset, PurgeStore } from '../domain/dataset-purge.js';
import { validateClasses, type NewDataset } from '../domain/dataset-rules.js';
import {
  LABEL_SOURCES,
  type ActiveLearningSettings,
  type Dataset,
  type DatasetStatistics,
  type LabelSource,
  type Split,
} from '../domain/types.js';
import type { RepositoryHooks } from './hooks.js';
import { enqueueDatasetCreated } from './outbox-events.js';
import { DATASET_COLUMNS, datasetFromRow, isUuid, type DatasetRow } from './rows.js';

const UNIQUE_VIOLATION = '23505';

export interface ListDatasetsFilter {
  /** Soft-deleted (restorable, not yet purged) datasets instead of live ones. */
  deleted?: boolean;
  /** Only these ids (scoped API keys); ids that are not uuids match nothing. */
  ids?: readonly string[];
}

export class DatasetRepository implements PurgeStore {
  constructor(
    private readonly db: Database,
    private readonly hooks: RepositoryHooks,
  ) {}

  /** Creates the dataset, its per-class split counters and a DatasetCreated event, atomically. */
  async create(input: NewDataset): Promise<Dataset> {
    const id = randomUUID();
    try {
      const dataset = await this.db.transaction(async (tx) => {
        const { rows } = await tx.query<DatasetRow>(
          `INSERT INTO dataset.datasets (id, name, classes, image_width, image_height, image_channels,
             ratio_train, ratio_validation, ratio_test, ${AL_COLUMNS})
           VALUES ($1, $2, $3::text[], $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
           RETURNING ${DATASET_COLUMNS}`,
          [
            id,
            input.name,
            input.classes,
            input.image.width,
            input.image.height,
            input.image.channels,
            input.splits.train,
            input.splits.validation,
            input.splits.test,
            ...alValues(input.activeLearning),
          ],
        );
        await insertCounters(tx, id, input.classes);
        const created = datasetFromRow(rows[0]!);
        await enqueueDatasetCreated(tx, created);
        return created;
      });
      this.hooks.eventsCommitted();
      return dataset;
    } catch (err) {
      if ((err as { code?: string }).code === UNIQUE_VIOLATION) {
        throw new AlreadyExistsError(`a dataset named "${input.name}" already exists`);
      }
      throw err;
    }
  }

  /** A live dataset; a soft-deleted one is NOT_FOUND like one that never existed. */
  async get(id: string, q: Queryable = this.db): Promise<Dataset> {
    if (!isUuid(id)) throw new NotFoundError(`dataset "${id}" not found`);
    const { rows } = await q.query<DatasetRow>(
      `SELECT ${DATASET_COLUMNS} FROM dataset.datasets WHERE id = $1 AND deleted_at IS NULL`,
      [id],
    );
    if (!rows[0]) throw new NotFoundError(`dataset "${id}" not found`);
    return datasetFromRow(rows[0]);
  }

  /** Up to `limit` datasets after `afterSeq`, in creation order: live ones, or the deleted ones. */
  async list(limit: number, afterSeq = 0, filter: ListDatasetsFilter = {}): Promise<Dataset[]> {
    const params: unknown[] = [afterSeq, limit];
    const where = ['seq > $1', filter.deleted ? 'deleted_at IS NOT NULL AND purge_started_at IS NULL' : 'deleted_at IS NULL'];
    if (filter.ids) {
      params.push(filter.ids.filter(isUuid));
      where.push(`id = ANY($${params.length}::uuid[])`);
    }
    const { rows } = await this.db.query<DatasetRow>(
      `SELECT ${DATASET_COLUMNS} FROM dataset.datasets WHERE ${where.join(' AND ')} ORDER BY seq LIMIT $2`,
      params,
    );
    return rows.map(datasetFromRow);
  }

  /**
   * Soft delete: hides the dataset (every call answers NOT_FOUND) and keeps everything it holds.
   * A dataset already deleted is NOT_FOUND too.
   */
  async softDelete(id: string, actor: string): Promise<Dataset> {
    if (!isUuid(id)) throw new NotFoundError(`dataset "${id}" not found`);
    const { rows } = await this.db.query<DatasetRow>(
      `UPDATE dataset.datasets SET deleted_at = now(), deleted_by = $2
        WHERE id = $1 AND deleted_at IS NULL RETURNING ${DATASET_COLUMNS}`,
      [id, actor],
    );
    if (!rows[0]) throw new NotFoundError(`dataset "${id}" not found`);
    return datasetFromRow(rows[0]);
  }

  /** Undoes softDelete while the deletion is younger than `retentionMs` and no purge has begun. */
  async restore(id: string, retentionMs: number): Promise<Dataset> {
    const notDeleted = () =>
      new NotFoundError(`there is no deleted dataset "${id}" (never deleted, or purged after its retention)`);
    if (!isUuid(id)) throw notDeleted();
    try {
      const { rows } = await this.db.query<DatasetRow>(
        `UPDATE dataset.datasets SET deleted_at = NULL, deleted_by = NULL
          WHERE id = $1 AND deleted_at IS NOT NULL AND purge_started_at IS NULL
            AND deleted_at > now() - make_interval(secs => $2)
          RETURNING ${DATASET_COLUMNS}`,
        [id, retentionMs / 1000],
      );
      if (!rows[0]) {
        const expired = await this.db.query(
          'SELECT 1 FROM dataset.datasets WHERE id = $1 AND deleted_at IS NOT NULL',
          [id],
        );
        if (expired.rows.length > 0) {
          throw new FailedPreconditionError(`dataset "${id}" was deleted longer ago than the retention period and is being purged`);
        }
        throw notDeleted();
      }
      return datasetFromRow(rows[0]);
    } catch (err) {
      if ((err as { code?: string }).code === UNIQUE_VIOLATION) {
        throw new AlreadyExistsError(`another dataset now has this dataset's name; delete or rename it before restoring`);
      }
      throw err;
    }
  }

  /** Deleted datasets whose deletion is older than `retentionMs` (purge candidates). */
  async expired(retentionMs: number, limit = 100): Promise<ExpiredDataset[]> {
    const { rows } = await this.db.query<{ id: string; name: string; deleted_at: Date }>(
      `SELECT id, name, deleted_at FROM dataset.datasets
        WHERE deleted_at IS NOT NULL AND deleted_at <= now() - make_interval(secs => $1)
        ORDER BY deleted_at LIMIT $2`,
      [retentionMs / 1000, limit],
    );
    return rows.map((row) => ({ id: row.id, name: row.name, deletedAt: row.deleted_at }));
  }

  /** Marks the purge as begun: from here on the dataset cannot be restored. */
  async markPurging(id: string): Promise<void> {
    await this.db.query(
      'UPDATE dataset.datasets SET purge_started_at = coalesce(purge_started_at, now()) WHERE id = $1 AND deleted_at IS NOT NULL',
      [id],
    );
  }

  /**
   * Removes every row of a deleted dataset, children first, in one transaction. Returns the
   * number of items removed (0 when the dataset is gone already or not deleted).
   */
  async purgeRows(id: string): Promise<number> {
    return this.db.transaction(async (tx) => {
      const held = await tx.query(
        'SELECT 1 FROM dataset.datasets WHERE id = $1 AND deleted_at IS NOT NULL AND purge_started_at IS NOT NULL FOR UPDATE',
        [id],
      );
      if (held.rows.length === 0) return 0;
      for (const table of ['audit_results', 'audit_failures', 'review_tasks', 'predictions']) {
        await tx.query(`DELETE FROM dataset.${table} WHERE dataset_id = $1`, [id]);
      }
      await tx.query(
        'DELETE FROM dataset.scoring_shards WHERE job_id IN (SELECT id FROM dataset.scoring_jobs WHERE dataset_id = $1)',
        [id],
      );
      await tx.query('DELETE FROM dataset.scoring_jobs WHERE dataset_id = $1', [id]);
      await tx.query(
        'DELETE FROM dataset.item_labels WHERE item_id IN (SELECT id FROM dataset.items WHERE dataset_id = $1)',
        [id],
      );
      const items = await tx.query('DELETE FROM dataset.items WHERE dataset_id = $1', [id]);
      await tx.query('DELETE FROM dataset.class_split_counts WHERE dataset_id = $1', [id]);
      await tx.query('DELETE FROM dataset.imports WHERE dataset_id = $1', [id]);
      await tx.query('DELETE FROM dataset.datasets WHERE id = $1', [id]);
      return items.rowCount;
    });
  }

  /** One aggregate over the dataset's items (bounded by classes × sources × splits rows). */
  async statistics(dataset: Dataset): Promise<DatasetStatistics> {
    const { rows } = await this.db.query<{
      label: string | null;
      source: LabelSource | null;
      split: Split | null;
      excluded: boolean;
      n: number;
    }>(
      `SELECT label, label_source AS source, split::text AS split, excluded_at IS NOT NULL AS excluded, count(*) AS n
         FROM dataset.items WHERE dataset_id = $1 GROUP BY 1, 2, 3, 4`,
      [dataset.id],
    );
    const stats: DatasetStatistics = {
      totalItems: 0,
      byStatus: { unlabelled: 0, labelled: 0, excluded: 0 },
      bySplit: { train: 0, validation: 0, test: 0, unassigned: 0 },
      byClass: Object.fromEntries(dataset.classes.map((name) => [name, 0])),
      bySource: Object.fromEntries(LABEL_SOURCES.map((source) => [source, 0])) as Record<LabelSource, number>,
    };
    for (const row of rows) {
      stats.totalItems += row.n;
      stats.bySplit[row.split ?? 'unassigned'] += row.n;
      if (row.label === null || row.source === null) {
        stats.byStatus[row.excluded ? 'excluded' : 'unlabelled'] += row.n;
        continue;
      }
      stats.byStatus.labelled += row.n;
      stats.byClass[row.label] = (stats.byClass[row.label] ?? 0) + row.n;
      stats.bySource[row.source] += row.n;
    }
    return stats;
  }

  /**
   * Replaces the dataset's active-learning settings (validated by the caller), all but the error
   * scale: that one belongs to the audits, which halve it when a model's auto-labels fail.
   */
  async updateActiveLearning(datasetId: string, settings: ActiveLearningSettings): Promise<Dataset> {
    if (!isUuid(datasetId)) throw new NotFoundError(`dataset "${datasetId}" not found`);
    const { rows } = await this.db.query<DatasetRow>(
      `UPDATE dataset.datasets SET (${AL_SETTABLE_COLUMNS}) = ($2, $3, $4, $5, $6, $7, $8, $9, $10)
        WHERE id = $1 AND deleted_at IS NULL RETURNING ${DATASET_COLUMNS}`,
      [datasetId, ...alValues(settings).slice(0, 9)],
    );
    if (!rows[0]) throw new NotFoundError(`dataset "${datasetId}" not found`);
    return datasetFromRow(rows[0]);
  }

  /**
   * Appends the names the dataset lacks (in the given order) inside the caller's transaction,
   * holding the dataset row so concurrent imports cannot append the same class twice.
   * NO KEY UPDATE: item inserts (which take KEY SHARE through their foreign key) go on meanwhile.
   * Returns the names actually added.
   */
  async appendClasses(tx: Queryable, datasetId: string, names: readonly string[]): Promise<string[]> {
    const { rows } = await tx.query<{ classes: string[] }>(
      'SELECT classes FROM dataset.datasets WHERE id = $1 FOR NO KEY UPDATE',
      [datasetId],
    );
    if (!rows[0]) throw new NotFoundError(`dataset "${datasetId}" not found`);
    const existing = new Set(rows[0].classes);
    const added = [...new Set(names)].filter((name) => !existing.has(name));
    if (added.length === 0) return [];
    validateClasses([...rows[0].classes, ...added]);
    await tx.query('UPDATE dataset.datasets SET classes = classes || $2::text[] WHERE id = $1', [datasetId, added]);
    await insertCounters(tx, datasetId, added);
    return added;
  }
}

const AL_SETTABLE_COLUMNS =
  'al_target_error, al_confidence, al_strategy, al_diversity, al_mc_samples, al_audit_share, al_audit_minimum, ' +
  'al_lease_seconds, al_auto_label';
const AL_COLUMNS = `${AL_SETTABLE_COLUMNS}, al_error_scale`;

/** In AL_COLUMNS order. */
function alValues(s: ActiveLearningSettings): unknown[] {
  return [
    s.targetError,
    s.confidence,
    s.strategy,
    s.diversity,
    s.mcSamples,
    s.auditShare,
    s.auditMinimum,
    s.leaseSeconds,
    s.autoLabel,
    s.errorScale,
  ];
}

async function insertCounters(tx: Queryable, datasetId: string, classes: readonly string[]): Promise<void> {
  await tx.query(
    `INSERT INTO dataset.class_split_counts (dataset_id, class)
     SELECT $1, name FROM unnest($2::text[]) AS name ON CONFLICT DO NOTHING`,
    [datasetId, classes],
  );
}
