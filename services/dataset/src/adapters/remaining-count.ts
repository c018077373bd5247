// How many review tasks of a dataset are open (the `remaining` of a lease). Counting a queue of
// 100,000 tasks takes tens of milliseconds of database time, on every lease of every reviewer —
// the cost that dominated `review/next` under load. So: a small queue is counted exactly (a bounded
// probe, cheap); a large one from the last full count, which is refreshed in the background once it
// is `maxAgeMs` old (one count per dataset at a time; only the very first lease waits for one). A
// reviewer reading "41,203 left" does not need it to the task.

export interface RemainingCountOptions {
  /** Counts up to this many open tasks exactly: returns the count, or undefined when there are more. */
  probe: (datasetId: string, upTo: number) => Promise<number | undefined>;
  /** Counts every open task. */
  countAll: (datasetId: string) => Promise<number>;
  /** Queues up to this size are always exact (default 100). */
  exactUpTo?: number;
  /** Age of a full count still good for a large queue (default 2000 ms). */
  maxAgeMs?: number;
  now?: () => number;
}

export class RemainingCount {
  private readonly counts = new Map<string, { value: number; at: number }>();
  private readonly inFlight = new Map<string, Promise<number>>();
  private readonly exactUpTo: number;
  private readonly maxAgeMs: number;
  private readonly now: () => number;

  constructor(private readonly options: RemainingCountOptions) {
    this.exactUpTo = options.exactUpTo ?? 100;
    this.maxAgeMs = options.maxAgeMs ?? 2000;
    this.now = options.now ?? Date.now;
  }

  async of(datasetId: string): Promise<number> {
    const exact = await this.options.probe(datasetId, this.exactUpTo);
    if (exact !== undefined) return exact;
    const cached = this.counts.get(datasetId);
    if (!cached) return Math.max(await this.count(datasetId), this.exactUpTo + 1);
    if (this.now() - cached.at > this.maxAgeMs) {
      // Refreshed for the next leases; a failure keeps the old count (and is retried next time).
      this.count(datasetId).catch(() => {});
    }
    return Math.max(cached.value, this.exactUpTo + 1);
  }

  /** One full count per dataset at a time; concurrent leases share it. */
  private count(datasetId: string): Promise<number> {
    const running = this.inFlight.get(datasetId);
    if (running) return running;
    const at = this.now();
    const counting = this.options
      .countAll(datasetId)
      .then((value) => {
        this.counts.set(datasetId, { value, at });
        return value;
      })
      .finally(() => this.inFlight.delete(datasetId));
    this.inFlight.set(datasetId, counting);
    return counting;
  }
}
