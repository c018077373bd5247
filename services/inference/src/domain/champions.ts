// Keeps the registry's champions current: all of them at start (from the trainer's model
// registry), then one per `model.promoted` event, which every replica receives. A load that fails
// (S3 briefly away) is retried with a growing delay until it succeeds or a later promotion of the
// same dataset supersedes it.
import type { Logger } from '@labelloop/common';
import type { ModelRegistry } from './model-registry.js';
import type { ModelRef } from './types.js';

/** Where the current champions are looked up (the trainer, over gRPC). */
export interface ChampionSource {
  /** Every dataset id (the dataset service's list, all pages). */
  datasetIds(): AsyncIterable<string>;
  /** The dataset's champion, if it has one. */
  champion(datasetId: string): Promise<ModelRef | undefined>;
}

/** Datasets seen at start: with a champion (loaded), without one, and failed (retried in the background). */
export interface SyncCounts {
  champions: number;
  none: number;
  failed: number;
}

export interface ChampionLoaderOptions {
  registry: ModelRegistry;
  logger: Logger;
  /** First retry delay; doubles up to maxRetryDelayMs. */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
}

export class ChampionLoader {
  private readonly pending = new Set<Promise<void>>();
  private stopped = false;
  private readonly wakers = new Set<() => void>();

  constructor(private readonly options: ChampionLoaderOptions) {}

  /** A promotion: loads the new champion in the background (events are handled in order). */
  promoted(ref: ModelRef): void {
    const generation = this.options.registry.nextGeneration(ref.datasetId);
    this.track(this.loadWithRetry(ref, generation, 'promotion'));
  }

  /**
   * Loads every dataset's champion; returns once each has been tried once. Failed ones (and a
   * failed listing) keep being retried in the background.
   */
  async syncAll(source: ChampionSource): Promise<SyncCounts> {
    let ids: string[];
    try {
      ids = await collect(source.datasetIds());
    } catch (err) {
      this.options.logger.warn({ err }, 'dataset listing failed; champions load in the background');
      this.track(this.retry('dataset listing', async () => void (await this.syncIds(source, await collect(source.datasetIds())))));
      return { champions: 0, none: 0, failed: 0 };
    }
    return this.syncIds(source, ids);
  }

  private async syncIds(source: ChampionSource, ids: string[]): Promise<SyncCounts> {
    const counts: SyncCounts = { champions: 0, none: 0, failed: 0 };
    for (const datasetId of ids) {
      // Captured before asking: a promotion arriving meanwhile wins over this (older) answer.
      const generation = this.options.registry.generation(datasetId);
      const outcome = await this.syncOne(source, datasetId, generation);
      if (outcome !== 'failed') {
        counts[outcome]++;
        continue;
      }
      counts.failed++;
      this.track(
        this.retry(`champion of ${datasetId}`, async () => {
          if ((await this.syncOne(source, datasetId, generation)) === 'failed') throw new Error(`champion of ${datasetId} not loaded`);
        }),
      );
    }
    return counts;
  }

  /** Resolves when no load is pending (tests). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** Stops retrying; loads in flight finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const wake of this.wakers) wake();
    await this.idle();
  }

  private async syncOne(source: ChampionSource, datasetId: string, generation: number): Promise<'champions' | 'none' | 'failed'> {
    try {
      const ref = await source.champion(datasetId);
      if (!ref) return 'none';
      await this.options.registry.setChampion(ref, generation);
      return 'champions';
    } catch (err) {
      this.options.logger.warn({ err, datasetId }, 'champion failed to load');
      return 'failed';
    }
  }

  private async loadWithRetry(ref: ModelRef, generation: number, reason: string): Promise<void> {
    await this.retry(`champion ${ref.datasetId} v${ref.version} (${reason})`, async () => {
      const outcome = await this.options.registry.setChampion(ref, generation);
      if (outcome === 'superseded') this.options.logger.info({ datasetId: ref.datasetId, version: ref.version }, 'promotion superseded before it loaded');
    }, () => this.options.registry.generation(ref.datasetId) !== generation);
  }

  /** Runs `attempt` until it succeeds, the loader stops, or `giveUp()` says so. */
  private async retry(what: string, attempt: () => Promise<void>, giveUp: () => boolean = () => false): Promise<void> {
    let delay = this.options.retryDelayMs ?? 1000;
    for (;;) {
      if (this.stopped || giveUp()) return;
      try {
        await attempt();
        return;
      } catch (err) {
        this.options.logger.warn({ err, what, retryInMs: delay }, 'model load failed; retrying');
      }
      await new Promise<void>((resolve) => {
        const wake = () => (clearTimeout(timer), this.wakers.delete(wake), resolve());
        const timer = setTimeout(wake, delay);
        this.wakers.add(wake);
      });
      delay = Math.min(delay * 2, this.options.maxRetryDelayMs ?? 60_000);
    }
  }

  private track(work: Promise<void>): void {
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
  }
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
