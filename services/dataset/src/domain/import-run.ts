import { setTimeout as sleep } from 'node:timers/promises';
import { DomainError, InvalidArgumentError, NotFoundError, UnavailableError, type Logger } from '@labelloop/common';
import {
  readArchiveEntries,
  readArchiveListing,
  type ArchiveEntryResult,
  type ArchiveLimits,
  type ArchiveListing,
} from '../ingest/index.js';
import { ingestItem, type IngestDeps } from './ingest-item.js';
import type { ArchiveStore, ImportStore, LocalArchive } from './import-ports.js';
import { ImportProgress } from './import-progress.js';
import type { Dataset, FileError, ImportRecord, UploadOutcome } from './types.js';

// The background half of an import: every entry goes through the same ingest path as an
// upload (labels source=import, actor=import id), a few at a time, with progress written as it
// goes. Re-ingesting is idempotent (content addressing), so a resumed import simply starts over.

const CONCURRENCY = 4;
const ATTEMPTS = 3;

export interface ImportRunDeps {
  datasets: { get(id: string): Promise<Dataset> };
  imports: ImportStore;
  archives: ArchiveStore;
  ingest: IngestDeps;
  archiveLimits: ArchiveLimits;
  logger: Logger;
  /** Stops taking entries (shutdown); the import is left RUNNING. */
  signal: AbortSignal;
  concurrency?: number;
  /** Counts each entry's outcome (metrics). */
  counted?: (outcome: UploadOutcome) => void;
}

/** Throws only when the outcome could not be recorded (the import then resumes on next start). */
export async function runImport(
  deps: ImportRunDeps,
  record: ImportRecord,
  archive?: LocalArchive,
  listing?: ArchiveListing,
): Promise<void> {
  const { logger, imports } = deps;
  const archiveKey = deps.archives.keyFor(record.datasetId, record.id);
  let progress = new ImportProgress(record.total, []);
  let ownArchive: LocalArchive | undefined;
  try {
    if (!archive) archive = ownArchive = await deps.archives.download(archiveKey);
    const dataset = await deps.datasets.get(record.datasetId);
    // A resumed import lists the archive again; classes it added exist by now.
    listing ??= await readArchiveListing(archive.path, deps.archiveLimits, dataset.classes, {
      addMissingClasses: record.addMissingClasses,
    });
    progress = new ImportProgress(listing.entries.length + listing.skipped.length, listing.skipped);
    await imports.saveProgress(record.id, progress.take());
    await ingestEntries(deps, record, dataset, archive, listing, progress);
  } catch (err) {
    if (deps.signal.aborted) return;
    if (err instanceof UnavailableError && archive === undefined) {
      // The durable copy cannot be fetched right now: leave the import for the next start.
      logger.warn({ err, importId: record.id }, 'import archive unavailable; will resume on next start');
      return;
    }
    const reason = failureReason(err);
    logger.error({ err, importId: record.id }, 'import failed');
    await imports.finish(record.id, progress.snapshot(), reason);
    await deleteArchiveCopy(deps, archiveKey);
    return;
  } finally {
    await ownArchive?.remove();
  }
  if (deps.signal.aborted) {
    await imports.saveProgress(record.id, progress.take());
    logger.info({ importId: record.id, processed: progress.snapshot().processed }, 'import paused for shutdown');
    return;
  }
  const finished = await imports.finish(record.id, progress.snapshot());
  logger.info(
    { importId: record.id, created: finished.created, duplicates: finished.duplicates, rejected: finished.rejected },
    'import finished',
  );
  await deleteArchiveCopy(deps, archiveKey);
}

async function ingestEntries(
  deps: ImportRunDeps,
  record: ImportRecord,
  dataset: Dataset,
  archive: LocalArchive,
  listing: ArchiveListing,
  progress: ImportProgress,
): Promise<void> {
  const entries = readArchiveEntries(archive.path, listing)[Symbol.asyncIterator]();
  // Progress writes go one after another, so a slow write never lands after a newer one.
  let saving = Promise.resolve();
  const save = () => {
    const snapshot = progress.take();
    saving = saving.then(() => deps.imports.saveProgress(record.id, snapshot));
    return saving;
  };
  let failure: { err: unknown } | undefined;
  const worker = async () => {
    while (!deps.signal.aborted && !failure) {
      try {
        const next = await entries.next();
        if (next.done) return;
        const { outcome, error } = await ingestEntry(deps, record, dataset, next.value);
        progress.record(outcome, error);
        deps.counted?.(outcome);
        if (progress.isDue()) await save();
      } catch (err) {
        // The first failure stops every worker; the others finish their current entry.
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: deps.concurrency ?? CONCURRENCY }, worker));
  await entries.return?.();
  await saving;
  if (failure) throw failure.err;
}

async function ingestEntry(
  deps: ImportRunDeps,
  record: ImportRecord,
  dataset: Dataset,
  { entry, bytes, error }: ArchiveEntryResult,
): Promise<{ outcome: UploadOutcome; error?: FileError }> {
  if (error || !bytes)
    return {
      outcome: 'rejected',
      error: error ?? { fileName: entry.path, code: 'unreadable', reason: 'the entry could not be read' },
    };
  const label = entry.className
    ? {
        value: entry.className,
        source: 'import' as const,
        actor: record.id,
        confidence: null,
        modelVersion: '',
        split: entry.split,
      }
    : undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      const result = await ingestItem(deps.ingest, {
        dataset,
        fileName: entry.fileName,
        bytes,
        label,
        importId: record.id,
      });
      if (result.outcome === 'rejected')
        return { outcome: 'rejected', error: { ...result.error, fileName: entry.path } };
      // An item this very import created before a restart still counts as created by it.
      const ours = result.outcome === 'duplicate' && result.item.importId === record.id;
      return { outcome: ours ? 'created' : result.outcome };
    } catch (err) {
      if (err instanceof InvalidArgumentError) {
        return { outcome: 'rejected', error: { fileName: entry.path, code: 'invalid_entry', reason: err.message } };
      }
      if (!(err instanceof UnavailableError) || attempt >= ATTEMPTS || deps.signal.aborted) throw err;
      deps.logger.warn({ err, importId: record.id, attempt }, 'import entry failed; retrying');
      await sleep(500 * attempt);
    }
  }
}

async function deleteArchiveCopy(deps: ImportRunDeps, key: string): Promise<void> {
  try {
    await deps.archives.delete(key);
  } catch (err) {
    deps.logger.warn({ err, key }, 'could not delete import archive copy');
  }
}

/** What the import's owner is told; internals (SQL, stack traces) stay in the logs. */
function failureReason(err: unknown): string {
  if (err instanceof NotFoundError) return 'the stored archive is missing';
  if (err instanceof DomainError) return err.message;
  return 'internal error while importing (see the dataset service logs)';
}
