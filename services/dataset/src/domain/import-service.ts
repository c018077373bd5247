import { randomUUID } from 'node:crypto';
import { InvalidArgumentError, UnavailableError, type Logger } from '@labelloop/common';
import { readArchiveListing, type ArchiveLimits, type ArchiveListing } from '../ingest/index.js';
import { hiddenAs } from './hidden.js';
import { MAX_FILE_NAME_LENGTH } from './ingest-item.js';
import { runImport, type ImportRunDeps } from './import-run.js';
import type { ArchiveStore, ImportStore, LocalArchive } from './import-ports.js';
import type { Dataset, ImportRecord } from './types.js';

// StartImport: receive the archive, check its listing, keep a durable copy, record the import
// and answer; the entries are then ingested in the background (import-run.ts). Imports that a
// crash or a shutdown left unfinished are resumed from the durable copy on start.

export interface ImportHeader {
  datasetId: string;
  fileName: string;
  addMissingClasses: boolean;
  actor: string;
}

export interface ImportServiceDeps extends Omit<ImportRunDeps, 'signal'> {
  datasets: { get(id: string): Promise<Dataset> };
  imports: ImportStore;
  archives: ArchiveStore;
  maxArchiveBytes: number;
  archiveLimits: ArchiveLimits;
  logger: Logger;
}

export class ImportService {
  private readonly running = new Map<string, Promise<void>>();
  private readonly stopping = new AbortController();

  constructor(private readonly deps: ImportServiceDeps) {}

  async start(header: ImportHeader, chunks: AsyncIterable<Buffer>): Promise<ImportRecord> {
    const { deps } = this;
    if (this.stopping.signal.aborted) throw new UnavailableError('the service is shutting down; retry the import');
    if ([...header.fileName].length > MAX_FILE_NAME_LENGTH) {
      throw new InvalidArgumentError(`file name must be at most ${MAX_FILE_NAME_LENGTH} characters`);
    }
    const dataset = await deps.datasets.get(header.datasetId);
    const archive = await deps.archives.receive(chunks, deps.maxArchiveBytes);
    let handedOver = false;
    try {
      if (archive.size === 0) throw new InvalidArgumentError('the archive is empty');
      // Refused archives (unsafe, too big, unknown classes, ...) throw InvalidArgumentError
      // here, before anything is stored.
      const listing = await readArchiveListing(archive.path, deps.archiveLimits, dataset.classes, {
        addMissingClasses: header.addMissingClasses,
      });
      const id = randomUUID();
      const archiveKey = deps.archives.keyFor(dataset.id, id);
      await deps.archives.upload(archiveKey, archive);
      let record: ImportRecord;
      try {
        record = await deps.imports.create({
          id,
          datasetId: dataset.id,
          fileName: header.fileName,
          addMissingClasses: header.addMissingClasses,
          actor: header.actor,
          archiveKey,
          newClasses: listing.newClasses,
          counts: {
            total: listing.entries.length + listing.skipped.length,
            processed: 0,
            created: 0,
            duplicates: 0,
            rejected: 0,
          },
          errors: [],
        });
      } catch (err) {
        await deps.archives
          .delete(archiveKey)
          .catch((e: unknown) => deps.logger.warn({ err: e, archiveKey }, 'could not delete archive copy'));
        throw err;
      }
      deps.logger.info(
        { importId: id, datasetId: dataset.id, entries: listing.entries.length, addedClasses: record.addedClasses },
        'import started',
      );
      this.launch(record, archive, listing);
      handedOver = true;
      return record;
    } finally {
      if (!handedOver) await archive.remove();
    }
  }

  /** An import of a soft-deleted dataset is hidden like the dataset. */
  async get(id: string): Promise<ImportRecord> {
    const record = await this.deps.imports.get(id);
    await hiddenAs(this.deps.datasets.get(record.datasetId), `import "${id}" not found`);
    return record;
  }

  /** Resumes every PENDING or RUNNING import in the background; returns how many. */
  async resumeUnfinished(): Promise<number> {
    const unfinished = await this.deps.imports.listUnfinished();
    for (const record of unfinished) {
      this.deps.logger.info({ importId: record.id, datasetId: record.datasetId }, 'resuming import');
      this.launch(record);
    }
    return unfinished.length;
  }

  /** Stops taking entries; running imports stay RUNNING and resume on the next start. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await Promise.allSettled(this.running.values());
  }

  /** Resolves when the import's background run ends (tests, shutdown). */
  async settled(id: string): Promise<void> {
    await this.running.get(id);
  }

  private launch(record: ImportRecord, archive?: LocalArchive, listing?: ArchiveListing): void {
    const run = this.runInBackground(record, archive, listing).finally(() => this.running.delete(record.id));
    this.running.set(record.id, run);
  }

  private async runInBackground(record: ImportRecord, archive?: LocalArchive, listing?: ArchiveListing): Promise<void> {
    const { deps } = this;
    try {
      await runImport({ ...deps, signal: this.stopping.signal }, record, archive, listing);
    } catch (err) {
      // Only reached when not even the failure could be recorded (database down): the import
      // stays unfinished and resumes on the next start.
      deps.logger.error({ err, importId: record.id }, 'import interrupted');
    } finally {
      await archive?.remove();
    }
  }
}

