import type { ImportSnapshot } from './import-ports.js';
import type { FileError, ImportCounts, UploadOutcome } from './types.js';

/** An import keeps the first errors only; the counts say how many there were in all. */
export const MAX_IMPORT_ERRORS = 1000;

/**
 * Counts of a running import, and when they are due to be written: every `everyItems`
 * processed entries or `everyMs` milliseconds, whichever comes first.
 */
export class ImportProgress {
  private readonly counts: ImportCounts;
  private readonly errors: FileError[] = [];
  private savedProcessed = 0;
  private savedAt: number;

  constructor(
    total: number,
    initialErrors: readonly FileError[],
    private readonly everyItems = 50,
    private readonly everyMs = 500,
    private readonly now: () => number = Date.now,
  ) {
    this.counts = { total, processed: 0, created: 0, duplicates: 0, rejected: 0 };
    for (const error of initialErrors) this.reject(error);
    this.savedAt = now();
  }

  record(outcome: UploadOutcome, error?: FileError): void {
    if (outcome === 'rejected') {
      this.reject(error ?? { fileName: '', code: 'rejected', reason: 'the file was rejected' });
      return;
    }
    this.counts.processed += 1;
    if (outcome === 'created') this.counts.created += 1;
    else this.counts.duplicates += 1;
  }

  private reject(error: FileError): void {
    this.counts.processed += 1;
    this.counts.rejected += 1;
    if (this.errors.length < MAX_IMPORT_ERRORS) this.errors.push(error);
  }

  isDue(): boolean {
    return this.counts.processed - this.savedProcessed >= this.everyItems || this.now() - this.savedAt >= this.everyMs;
  }

  /** The current counts, marking them as written. */
  take(): ImportSnapshot {
    this.savedProcessed = this.counts.processed;
    this.savedAt = this.now();
    return this.snapshot();
  }

  snapshot(): ImportSnapshot {
    return { ...this.counts, errors: [...this.errors] };
  }
}
