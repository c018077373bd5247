import { NotFoundError } from '@labelloop/common';
import type { Database } from '@labelloop/storage';
import type { ImportSnapshot, ImportStore, NewImport } from '../domain/import-ports.js';
import type { ImportRecord } from '../domain/types.js';
import type { DatasetRepository } from './dataset-repository.js';
import type { RepositoryHooks } from './hooks.js';
import { enqueueImportFinished } from './outbox-events.js';
import { importFromRow, isUuid, type ImportRow } from './rows.js';

const IMPORT_COLUMNS =
  'id, dataset_id, file_name, status, add_missing_classes, actor, archive_key, total, processed, created, ' +
  'duplicates, rejected, errors, failure_reason, added_classes, created_at, finished_at';

export class ImportRepository implements ImportStore {
  constructor(
    private readonly db: Database,
    private readonly datasets: DatasetRepository,
    private readonly hooks: RepositoryHooks,
  ) {}

  /** Appends the new classes and records the import as PENDING, atomically. */
  async create(input: NewImport): Promise<ImportRecord> {
    return this.db.transaction(async (tx) => {
      const added = await this.datasets.appendClasses(tx, input.datasetId, input.newClasses);
      const { rows } = await tx.query<ImportRow>(
        `INSERT INTO dataset.imports (id, dataset_id, file_name, status, add_missing_classes, actor, archive_key,
           total, processed, created, duplicates, rejected, errors, added_classes)
         VALUES ($1, $2, $3, 'PENDING', $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb, $13::text[])
         RETURNING ${IMPORT_COLUMNS}`,
        [
          input.id,
          input.datasetId,
          input.fileName,
          input.addMissingClasses,
          input.actor,
          input.archiveKey,
          input.counts.total,
          input.counts.processed,
          input.counts.created,
          input.counts.duplicates,
          input.counts.rejected,
          JSON.stringify(input.errors),
          added,
        ],
      );
      return importFromRow(rows[0]!);
    });
  }

  async get(id: string): Promise<ImportRecord> {
    const record = isUuid(id) ? await this.find(id) : undefined;
    if (!record) throw new NotFoundError(`import "${id}" not found`);
    return record;
  }

  /** Imports a crash (or a shutdown) left unfinished, oldest first. */
  async listUnfinished(): Promise<ImportRecord[]> {
    const { rows } = await this.db.query<ImportRow>(
      `SELECT ${IMPORT_COLUMNS} FROM dataset.imports WHERE status IN ('PENDING', 'RUNNING') ORDER BY created_at`,
    );
    return rows.map(importFromRow);
  }

  /** Marks the import RUNNING with the given progress (a resumed import starts its counts again). */
  async saveProgress(id: string, progress: ImportSnapshot): Promise<void> {
    await this.db.query(
      `UPDATE dataset.imports SET status = 'RUNNING', total = $2, processed = $3, created = $4, duplicates = $5,
              rejected = $6, errors = $7::jsonb
        WHERE id = $1 AND status IN ('PENDING', 'RUNNING')`,
      [
        id,
        progress.total,
        progress.processed,
        progress.created,
        progress.duplicates,
        progress.rejected,
        JSON.stringify(progress.errors),
      ],
    );
  }

  /** Final state and the ImportFinished event, atomically. */
  async finish(id: string, progress: ImportSnapshot, failureReason?: string): Promise<ImportRecord> {
    const record = await this.db.transaction(async (tx) => {
      const { rows } = await tx.query<ImportRow>(
        `UPDATE dataset.imports SET status = $2, total = $3, processed = $4, created = $5, duplicates = $6,
                rejected = $7, errors = $8::jsonb, failure_reason = $9, finished_at = now()
          WHERE id = $1 RETURNING ${IMPORT_COLUMNS}`,
        [
          id,
          failureReason === undefined ? 'SUCCEEDED' : 'FAILED',
          progress.total,
          progress.processed,
          progress.created,
          progress.duplicates,
          progress.rejected,
          JSON.stringify(progress.errors),
          failureReason ?? '',
        ],
      );
      if (!rows[0]) throw new NotFoundError(`import "${id}" not found`);
      const finished = importFromRow(rows[0]);
      await enqueueImportFinished(tx, finished);
      return finished;
    });
    this.hooks.eventsCommitted();
    return record;
  }

  private async find(id: string): Promise<ImportRecord | undefined> {
    const { rows } = await this.db.query<ImportRow>(`SELECT ${IMPORT_COLUMNS} FROM dataset.imports WHERE id = $1`, [
      id,
    ]);
    return rows[0] ? importFromRow(rows[0]) : undefined;
  }
}
