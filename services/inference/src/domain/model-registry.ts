// The models this replica holds: each dataset's champion, plus a few recently used others (pool
// scoring of a version that is no longer champion, a rollback). A model is loaded once per artifact
// prefix into every predict worker. Callers lease a model for the length of a request; a champion
// swap is one assignment, so requests in flight finish on the model they started with, and a model
// is unloaded only when nobody leases it, it champions no dataset and it falls out of the idle cache.
import { FailedPreconditionError, InvalidArgumentError, type Logger } from '@labelloop/common';
import type { ModelSidecar } from '@labelloop/ml';
import type { LoadedModel, ModelRef } from './types.js';

/** What loads models into the workers (the predict pool). */
export interface ModelRuntime {
  readonly backend: string;
  load(prefix: string): Promise<ModelSidecar>;
  unload(prefix: string): Promise<void>;
}

export interface ModelLease {
  readonly model: LoadedModel;
  /** Idempotent. */
  release(): void;
}

export type ChampionOutcome = 'swapped' | 'unchanged' | 'superseded';

interface Entry {
  prefix: string;
  ref: ModelRef;
  /** Settles when the model is in every worker. */
  loading: Promise<LoadedModel>;
  model?: LoadedModel;
  refs: number;
  championOf: Set<string>;
  lastUsed: number;
}

export interface ModelRegistryOptions {
  runtime: ModelRuntime;
  logger: Logger;
  /** Models kept loaded while unused and champion of nothing (default 1). */
  idleCache?: number;
  /** Called whenever a model is loaded or unloaded (metrics). */
  onChange?: (loaded: LoadedModel[]) => void;
}

export class ModelRegistry {
  private readonly entries = new Map<string, Entry>();
  private readonly champions = new Map<string, Entry>();
  private readonly generations = new Map<string, number>();
  private readonly idleCache: number;
  private clock = 0;

  constructor(private readonly options: ModelRegistryOptions) {
    this.idleCache = options.idleCache ?? 1;
  }

  /** Changes of a dataset's champion asked for so far (see setChampion). */
  generation(datasetId: string): number {
    return this.generations.get(datasetId) ?? 0;
  }

  /** Starts a new change of the dataset's champion: older changes still loading will not apply. */
  nextGeneration(datasetId: string): number {
    const next = this.generation(datasetId) + 1;
    this.generations.set(datasetId, next);
    return next;
  }

  /**
   * Loads `ref` and makes it its dataset's champion, unless the dataset's generation moved past
   * `generation` meanwhile (a later promotion won) — then the load is let go and 'superseded' returned.
   */
  async setChampion(ref: ModelRef, generation: number): Promise<ChampionOutcome> {
    const ds = ref.datasetId;
    if (this.generation(ds) !== generation) return 'superseded';
    const current = this.champions.get(ds);
    if (current?.prefix === ref.artifactPrefix) return 'unchanged';
    const lease = await this.acquire(ref);
    try {
      if (this.generation(ds) !== generation) return 'superseded';
      const entry = this.entries.get(ref.artifactPrefix)!;
      const previous = this.champions.get(ds);
      // The swap: requests already holding `previous` keep it until they release it.
      this.champions.set(ds, entry);
      entry.championOf.add(ds);
      previous?.championOf.delete(ds);
      this.options.logger.info(
        { datasetId: ds, modelId: ref.modelId, version: ref.version, previousVersion: previous?.ref.version },
        'champion model swapped in',
      );
      return 'swapped';
    } finally {
      lease.release();
    }
  }

  /** The dataset's champion, leased; FailedPreconditionError when it has none loaded. */
  acquireChampion(datasetId: string): ModelLease {
    const entry = this.champions.get(datasetId);
    if (!entry) throw new FailedPreconditionError(`dataset ${datasetId} has no champion model yet`, { datasetId });
    return this.lease(entry);
  }

  /** The model `ref` names, loaded first when needed (cached by artifact prefix). */
  async acquire(ref: ModelRef): Promise<ModelLease> {
    assertPrefix(ref.artifactPrefix);
    let entry = this.entries.get(ref.artifactPrefix);
    if (!entry) {
      const created: Entry = { prefix: ref.artifactPrefix, ref, refs: 0, championOf: new Set(), lastUsed: this.tick(), loading: undefined! };
      created.loading = this.load(created);
      this.entries.set(ref.artifactPrefix, created);
      entry = created;
    }
    // Counted from now on, so a load in flight is never unloaded under the caller.
    entry.refs++;
    try {
      await entry.loading;
    } catch (err) {
      entry.refs--;
      throw err;
    }
    return this.lease(entry, true);
  }

  /** The champions, one per dataset. */
  champion(datasetId: string): LoadedModel | undefined {
    return this.champions.get(datasetId)?.model;
  }

  listChampions(): LoadedModel[] {
    return [...this.champions.values()].map((e) => e.model!);
  }

  /** Every model loaded in the workers now. */
  listLoaded(): LoadedModel[] {
    return [...this.entries.values()].filter((e) => e.model).map((e) => e.model!);
  }

  /** Leases held, per artifact prefix (tests, debugging). */
  leases(): Map<string, number> {
    return new Map([...this.entries.values()].map((e) => [e.prefix, e.refs]));
  }

  private tick(): number {
    return ++this.clock;
  }

  private async load(entry: Entry): Promise<LoadedModel> {
    const { ref } = entry;
    const started = performance.now();
    try {
      const sidecar = await this.options.runtime.load(ref.artifactPrefix);
      const extra = sidecar.extra ?? {};
      const model: LoadedModel = {
        ...ref,
        architecture: sidecar.modelSpec.architecture,
        classes: sidecar.classes,
        imageSpec: sidecar.imageSpec,
        temperature: sidecar.temperature,
        backend: this.options.runtime.backend,
        runId: typeof extra.runId === 'string' ? extra.runId : '',
        trainedAt: sidecar.savedAt ? new Date(sidecar.savedAt) : undefined,
        loadedAt: new Date(),
      };
      entry.model = model;
      this.options.logger.info(
        { datasetId: ref.datasetId, version: ref.version, artifactPrefix: ref.artifactPrefix, ms: Math.round(performance.now() - started) },
        'model loaded',
      );
      this.changed();
      return model;
    } catch (err) {
      this.entries.delete(entry.prefix);
      this.options.logger.warn({ err, datasetId: ref.datasetId, artifactPrefix: ref.artifactPrefix }, 'model failed to load');
      throw err;
    }
  }

  private lease(entry: Entry, counted = false): ModelLease {
    if (!counted) entry.refs++;
    entry.lastUsed = this.tick();
    let released = false;
    return {
      model: entry.model!,
      release: () => {
        if (released) return;
        released = true;
        entry.refs--;
        entry.lastUsed = this.tick();
        this.collect();
      },
    };
  }

  /** Unloads idle models beyond the cache, least recently used first. */
  private collect(): void {
    const idle = [...this.entries.values()]
      .filter((e) => e.model && e.refs === 0 && e.championOf.size === 0)
      .sort((a, b) => b.lastUsed - a.lastUsed);
    for (const entry of idle.slice(this.idleCache)) {
      this.entries.delete(entry.prefix);
      this.options.runtime.unload(entry.prefix).then(
        () => {
          this.options.logger.info({ datasetId: entry.ref.datasetId, version: entry.ref.version }, 'model unloaded');
          this.changed();
        },
        (err: unknown) => this.options.logger.warn({ err, artifactPrefix: entry.prefix }, 'model failed to unload'),
      );
    }
  }

  private changed(): void {
    this.options.onChange?.(this.listLoaded());
  }
}

function assertPrefix(prefix: string): void {
  if (!prefix || !prefix.endsWith('/')) throw new InvalidArgumentError(`artifact prefix must end in '/', got ${JSON.stringify(prefix)}`);
}
