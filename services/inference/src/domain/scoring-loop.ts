// Pool scoring on this replica: claim a shard from the dataset service, predict its items with the
// shard's model version (loaded by artifact prefix, which may no longer be the champion), compute
// the dataset's acquisition score, record the predictions. Shards are leased: a replica that dies
// mid-shard records nothing and another takes the shard after the lease expires; recording a shard
// twice changes nothing, so a slow replica finishing after its lease ran out is harmless too.
import { acquisitionScore } from '@labelloop/active-learning';
import { isAbortError, type Logger } from '@labelloop/common';
import { decodeImage, imageBytes } from '@labelloop/ml';
import pLimit from 'p-limit';
import type { InferenceMetrics, ShardOutcome } from '../metrics.js';
import type { PredictPool } from '../workers/predict-pool.js';
import type { ModelRegistry } from './model-registry.js';
import type { ItemPrediction, ScoringShard } from './types.js';

/** RecordPredictions refused: the lease expired and another scorer claimed the shard. */
export class LeaseLostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LeaseLostError';
  }
}

export interface ScoringProgress {
  jobId: string;
  status: string;
  shardsDone: number;
  shardsTotal: number;
  itemsScored: number;
  itemsTotal: number;
}

/** The dataset service's side of scoring. */
export interface ScoringQueue {
  claim(worker: string, leaseSeconds: number, signal?: AbortSignal): Promise<ScoringShard | undefined>;
  /** LeaseLostError when another scorer holds the shard now. */
  record(shardId: string, worker: string, predictions: ItemPrediction[]): Promise<{ recorded: boolean; progress: ScoringProgress }>;
}

/** Item images by content hash (S3 datasets/<datasetId>/items/<sha256>). */
export interface ItemImages {
  get(datasetId: string, sha256: string): Promise<Uint8Array>;
}

export interface ScoringLoopOptions {
  queue: ScoringQueue;
  images: ItemImages;
  registry: ModelRegistry;
  pool: PredictPool;
  metrics: InferenceMetrics;
  logger: Logger;
  /** Lease holder name. */
  worker: string;
  leaseMs: number;
  pollIntervalMs: number;
  /** Image downloads and decodes in flight (default 16). */
  fetchConcurrency?: number;
  /** For the random strategy (default Math.random). */
  random?: () => number;
  /** Called once a shard is claimed, before any work on it (tests, tracing). */
  onClaimed?: (shard: ScoringShard) => void;
}

export interface ShardResult {
  outcome: ShardOutcome;
  shard: ScoringShard;
  /** Items predicted (undecodable or missing images are skipped). */
  predicted: number;
  progress?: ScoringProgress;
}

class Abandoned extends Error {
  constructor() {
    super('scoring stopped before the shard was recorded');
    this.name = 'AbortError';
  }
}

export class ScoringLoop {
  private running: Promise<void> | undefined;
  private stopping = false;
  private wake: (() => void) | undefined;
  private current: { done: Promise<ShardResult>; abort: AbortController } | undefined;
  /** Every shard result, newest last (bounded; tests and debugging). */
  readonly results: ShardResult[] = [];

  constructor(private readonly o: ScoringLoopOptions) {}

  start(): void {
    if (this.running) return;
    this.stopping = false;
    this.running = this.run();
  }

  /** Claims at once instead of after the poll interval (a job just began). */
  nudge(): void {
    this.wake?.();
  }

  /**
   * Stops claiming; the shard in flight gets `graceMs` to finish and record, after which it is
   * abandoned unrecorded (its lease expires and another replica scores it).
   */
  async stop(options: { graceMs: number }): Promise<void> {
    this.stopping = true;
    this.wake?.();
    const current = this.current;
    if (current) {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<void>((resolve) => (timer = setTimeout(resolve, options.graceMs)));
      await Promise.race([current.done.then(() => undefined, () => undefined), timedOut]);
      clearTimeout(timer);
      current.abort.abort();
    }
    await this.running;
    this.running = undefined;
  }

  private async run(): Promise<void> {
    const leaseSeconds = Math.max(1, Math.round(this.o.leaseMs / 1000));
    while (!this.stopping) {
      let shard: ScoringShard | undefined;
      try {
        shard = await this.o.queue.claim(this.o.worker, leaseSeconds);
      } catch (err) {
        this.o.logger.warn({ err }, 'claiming a scoring shard failed');
      }
      if (this.stopping) {
        // Claimed just as we stopped: left to expire, like a crash.
        if (shard) this.o.logger.info({ shardId: shard.id }, 'scoring stopped; claimed shard left to its lease');
        break;
      }
      if (!shard) {
        await this.sleep(this.o.pollIntervalMs);
        continue;
      }
      const abort = new AbortController();
      let settle!: (result: ShardResult) => void;
      // Set before any work starts, so stop() sees the shard from its first moment.
      this.current = { abort, done: new Promise((resolve) => (settle = resolve)) };
      const result = await this.scoreShard(shard, abort.signal);
      settle(result);
      this.current = undefined;
      this.results.push(result);
      if (this.results.length > 200) this.results.shift();
      // A failing shard (dataset service down, S3 down) must not spin.
      if (result.outcome === 'failed') await this.sleep(this.o.pollIntervalMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(), ms);
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      this.wake = done;
    });
  }

  /** One shard, start to end; never throws. */
  async scoreShard(shard: ScoringShard, signal: AbortSignal): Promise<ShardResult> {
    const started = performance.now();
    const log = this.o.logger.child({ shardId: shard.id, jobId: shard.jobId, datasetId: shard.model.datasetId, modelVersion: shard.model.version });
    const finish = (result: Omit<ShardResult, 'shard'>): ShardResult => {
      this.o.metrics.shard(result.outcome, (performance.now() - started) / 1000);
      return { ...result, shard };
    };
    try {
      this.o.onClaimed?.(shard);
      const predictions = await abortable(this.predictShard(shard, signal, log), signal);
      if (signal.aborted) throw new Abandoned();
      const { recorded, progress } = await this.o.queue.record(shard.id, this.o.worker, predictions);
      const ms = Math.round(performance.now() - started);
      this.o.metrics.images(shard.model.datasetId, 'scoring', predictions.length);
      log.info(
        { items: shard.items.length, predicted: predictions.length, recorded, ms, shardsDone: progress.shardsDone, shardsTotal: progress.shardsTotal, jobStatus: progress.status },
        recorded ? 'scoring shard recorded' : 'scoring shard was already recorded',
      );
      if (ms > this.o.leaseMs / 2) log.warn({ ms, leaseMs: this.o.leaseMs }, 'a shard took over half its lease: lower SCORING_SHARD_SIZE or raise SCORING_LEASE');
      return finish({ outcome: recorded ? 'recorded' : 'already_recorded', predicted: predictions.length, progress });
    } catch (err) {
      if (err instanceof LeaseLostError) {
        log.warn({ err }, 'scoring shard lease lost to another scorer; its predictions were not recorded');
        return finish({ outcome: 'lease_lost', predicted: 0 });
      }
      if (signal.aborted || isAbortError(err)) {
        log.warn('scoring shard abandoned unrecorded; its lease will expire');
        return finish({ outcome: 'abandoned', predicted: 0 });
      }
      log.error({ err }, 'scoring shard failed; it will be retried after its lease expires');
      return finish({ outcome: 'failed', predicted: 0 });
    }
  }

  private async predictShard(shard: ScoringShard, signal: AbortSignal, log: Logger): Promise<ItemPrediction[]> {
    const lease = await this.o.registry.acquire(shard.model);
    try {
      const { model } = lease;
      const size = imageBytes(model.imageSpec);
      const limit = pLimit(this.o.fetchConcurrency ?? 16);
      const decoded = await Promise.all(
        shard.items.map((item) =>
          limit(async () => {
            if (signal.aborted) throw new Abandoned();
            try {
              return await decodeImage(await this.o.images.get(shard.model.datasetId, item.sha256), model.imageSpec);
            } catch (err) {
              // Ingest validated every image, so this is damage in storage: skip the item, loudly.
              log.error({ err, itemId: item.itemId, sha256: item.sha256 }, 'item image unreadable; not scored');
              return undefined;
            }
          }),
        ),
      );
      const items = shard.items.filter((_, i) => decoded[i] !== undefined);
      if (items.length === 0) return [];
      const pixels = new Uint8Array(items.length * size);
      let row = 0;
      for (const d of decoded) if (d) pixels.set(d, row++ * size);
      const mcSamples = shard.strategy === 'bald' ? shard.mcSamples : 0;
      const out = await this.o.pool.predict(model.artifactPrefix, pixels, items.length, {
        temperature: model.temperature,
        mcSamples,
        embeddings: shard.embeddings,
      });
      const k = out.classes;
      const random = this.o.random ?? Math.random;
      return items.map((item, i): ItemPrediction => {
        const probabilities = out.probabilities.slice(i * k, (i + 1) * k);
        const samples = mcSamples > 0 ? Array.from({ length: mcSamples }, (_, s) => out.mcSamples!.subarray((i * mcSamples + s) * k, (i * mcSamples + s + 1) * k)) : undefined;
        const prediction: ItemPrediction = {
          itemId: item.itemId,
          probabilities,
          acquisitionScore: acquisitionScore(shard.strategy, probabilities, { mcSamples: samples, random }),
        };
        if (out.embeddings) prediction.embedding = out.embeddings.slice(i * out.embeddingSize, (i + 1) * out.embeddingSize);
        return prediction;
      });
    } finally {
      lease.release();
    }
  }
}

/** Rejects with an AbortError as soon as `signal` aborts (the work itself runs on unobserved). */
function abortable<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Abandoned());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Abandoned());
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => (signal.removeEventListener('abort', onAbort), resolve(value)),
      (err: unknown) => (signal.removeEventListener('abort', onAbort), reject(err)),
    );
  });
}
