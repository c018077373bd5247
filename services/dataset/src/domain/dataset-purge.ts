import type { Logger } from '@labelloop/common';

// The purge behind soft delete: a dataset deleted longer ago than the retention loses its objects
// and then its rows, for good. The order keeps every state safe to stop in:
//   1. purge_started_at is set — from now on the dataset cannot be restored;
//   2. its S3 objects are removed (items, stored import archives);
//   3. its rows go in one transaction.
// A purge cut short (crash, S3 outage) is picked up by the next run: the dataset is still expired.

export interface ExpiredDataset {
  id: string;
  name: string;
  deletedAt: Date;
}

export interface PurgeStore {
  expired(retentionMs: number, limit?: number): Promise<ExpiredDataset[]>;
  markPurging(id: string): Promise<void>;
  /** Removes the rows; returns how many items went. */
  purgeRows(id: string): Promise<number>;
}

export interface PurgeObjects {
  list(prefix: string): AsyncIterable<{ key: string }>;
  delete(key: string): Promise<void>;
}

export interface DatasetPurgerDeps {
  store: PurgeStore;
  objects: PurgeObjects;
  retentionMs: number;
  intervalMs: number;
  logger: Logger;
  /** Object deletions in flight at once (default 16). */
  concurrency?: number;
}

export interface PurgedDataset {
  id: string;
  name: string;
  items: number;
  objects: number;
}

/** S3 prefixes that hold a dataset's objects. */
export function datasetObjectPrefixes(datasetId: string): string[] {
  return [`datasets/${datasetId}/`, `imports/${datasetId}/`];
}

export class DatasetPurger {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;

  constructor(private readonly deps: DatasetPurgerDeps) {}

  /** Runs now and then every intervalMs until stop(). */
  start(): void {
    this.stopped = false;
    const tick = () => {
      if (this.stopped) return;
      this.running = this.purgeExpired()
        .catch((err: unknown) => this.deps.logger.error({ err }, 'dataset purge failed; retrying at the next run'))
        .finally(() => {
          this.running = undefined;
          if (!this.stopped) this.timer = setTimeout(tick, this.deps.intervalMs).unref();
        });
    };
    tick();
  }

  /** Stops the schedule and waits for a run in progress (it stops between datasets). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One pass: purges every dataset whose deletion is older than the retention. */
  async purgeExpired(): Promise<PurgedDataset[]> {
    const purged: PurgedDataset[] = [];
    for (;;) {
      const expired = await this.deps.store.expired(this.deps.retentionMs, 20);
      if (expired.length === 0 || this.stopped) return purged;
      for (const dataset of expired) {
        if (this.stopped) return purged;
        purged.push(await this.purge(dataset));
      }
    }
  }

  private async purge(dataset: ExpiredDataset): Promise<PurgedDataset> {
    const { store, logger } = this.deps;
    await store.markPurging(dataset.id);
    let objects = 0;
    for (const prefix of datasetObjectPrefixes(dataset.id)) objects += await this.deleteUnder(prefix);
    const items = await store.purgeRows(dataset.id);
    logger.info(
      { datasetId: dataset.id, datasetName: dataset.name, deletedAt: dataset.deletedAt, items, objects },
      'deleted dataset purged after its retention period',
    );
    return { id: dataset.id, name: dataset.name, items, objects };
  }

  private async deleteUnder(prefix: string): Promise<number> {
    const concurrency = this.deps.concurrency ?? 16;
    const inFlight = new Set<Promise<void>>();
    let deleted = 0;
    let failure: unknown;
    for await (const { key } of this.deps.objects.list(prefix)) {
      if (failure) break;
      const deletion: Promise<void> = this.deps.objects.delete(key).then(
        () => {
          deleted += 1;
        },
        (err: unknown) => {
          failure ??= err;
        },
      );
      inFlight.add(deletion);
      void deletion.finally(() => inFlight.delete(deletion));
      if (inFlight.size >= concurrency) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    if (failure) throw failure;
    return deleted;
  }
}
