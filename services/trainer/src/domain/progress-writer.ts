import type { Database } from '@labelloop/storage';
import { enqueueProgressed } from '../adapters/trainer-events.js';
import { getRun, saveProgress } from '../adapters/run-repository.js';
import type { RunProgress } from './types.js';

const WRITE_INTERVAL_MS = 1000;
const NOTIFY_INTERVAL_MS = 200;

/**
 * Takes the job's per-batch progress: stores it (and a TrainingProgressed event) at most about
 * once a second and at each epoch's end, tells local watchers a little more often, and reports
 * when the run stopped being RUNNING in the database (cancelled through another replica).
 */
export class ProgressWriter {
  private latest: Partial<RunProgress> = {};
  private lastWrite = 0;
  private lastNotify = 0;
  private lastPhase = '';
  private chain: Promise<void> = Promise.resolve();
  private dirty = false;

  constructor(
    private readonly o: {
      db: Database;
      runId: string;
      notify: () => void;
      onStopped: () => void;
      onEventsCommitted: () => void;
      onError: (err: unknown) => void;
    },
  ) {}

  get current(): Partial<RunProgress> {
    return this.latest;
  }

  update(p: Partial<RunProgress>): void {
    this.latest = { ...this.latest, ...p };
    const now = Date.now();
    const boundary = p.phase !== this.lastPhase || (p.batch !== undefined && p.batch === p.batches);
    this.lastPhase = p.phase ?? this.lastPhase;
    if (boundary || now - this.lastNotify >= NOTIFY_INTERVAL_MS) {
      this.lastNotify = now;
      this.o.notify();
    }
    if (boundary || now - this.lastWrite >= WRITE_INTERVAL_MS) {
      this.lastWrite = now;
      this.schedule();
    }
  }

  /** Waits for the writes in flight (and a last one of the newest progress). */
  async flush(): Promise<void> {
    this.schedule();
    await this.chain;
  }

  private schedule(): void {
    if (this.dirty) return; // the queued write takes the newest progress anyway
    this.dirty = true;
    // A failed write is logged and skipped: the next one carries the newest progress anyway.
    this.chain = this.chain.then(() => this.write()).catch(this.o.onError);
  }

  private async write(): Promise<void> {
    this.dirty = false;
    const progress = this.latest;
    const running = await this.o.db.transaction(async (tx) => {
      if (!(await saveProgress(tx, this.o.runId, progress))) return false;
      const run = await getRun(tx, this.o.runId);
      await enqueueProgressed(tx, run!);
      return true;
    });
    if (running) this.o.onEventsCommitted();
    else this.o.onStopped();
  }
}
