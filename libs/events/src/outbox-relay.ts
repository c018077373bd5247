import type { Logger } from '@labelloop/common';
import type { Database, Queryable } from '@labelloop/storage';
import type { Registry } from 'prom-client';
import { assertSubjectPrefix } from './event-types.js';
import { createOutboxMetrics, type OutboxMetrics } from './outbox-metrics.js';
import type { EventPublisher } from './publisher.js';
import { assertSchemaName } from './sql-names.js';

export interface OutboxRelayOptions {
  db: Database;
  /** The service's schema holding `outbox` (see outboxTableSql). */
  schema: string;
  publisher: EventPublisher;
  /** Installation prefix put in front of the stored subject, e.g. `labelloop`. */
  subjectPrefix: string;
  logger: Logger;
  /** Rows taken per pass (default 100). */
  batchSize?: number;
  /** Idle poll interval when nobody nudges (default 1000 ms). */
  pollIntervalMs?: number;
  /** Upper bound of the retry back-off after a failed publish (default 5000 ms). */
  maxBackoffMs?: number;
  /** Published rows older than this are deleted (default 24 h). */
  retentionMs?: number;
  /** How often that deletion runs (default 10 min). */
  cleanupIntervalMs?: number;
  registry?: Registry;
}

interface OutboxRow {
  id: string;
  subject: string;
  payload: Uint8Array;
}

interface PassWaiter {
  minSeq: number;
  resolve(pending: number): void;
  reject(err: Error): void;
}

const FIRST_BACKOFF_MS = 200;
const PENDING_GAUGE_INTERVAL_MS = 1000;

/**
 * Publishes committed outbox rows to JetStream, oldest first, and marks them published.
 * A failed publish keeps the row (attempts/last_error record why) and backs off; rows are
 * only ever deleted after they were published and aged past the retention.
 */
export class OutboxRelay {
  private readonly o: Required<Omit<OutboxRelayOptions, 'registry'>>;
  private readonly table: string;
  private readonly metrics: OutboxMetrics | undefined;
  private running = false;
  private loopDone: Promise<void> | undefined;
  private nudged = false;
  private wakeFromIdle: (() => void) | undefined;
  private wakeFromAnySleep: (() => void) | undefined;
  private passSeq = 0;
  private waiters: PassWaiter[] = [];
  private lastCleanup = 0;
  private lastCount = 0;

  constructor(options: OutboxRelayOptions) {
    assertSubjectPrefix(options.subjectPrefix);
    this.table = `${assertSchemaName(options.schema)}.outbox`;
    this.o = {
      batchSize: 100,
      pollIntervalMs: 1000,
      maxBackoffMs: 5000,
      retentionMs: 24 * 3600 * 1000,
      cleanupIntervalMs: 10 * 60 * 1000,
      ...withoutUndefined(options),
    } as Required<Omit<OutboxRelayOptions, 'registry'>>;
    if (!(this.o.batchSize >= 1)) throw new Error('batchSize must be at least 1');
    this.metrics = options.registry ? createOutboxMetrics(options.registry, options.schema) : undefined;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.lastCleanup = Date.now();
    this.loopDone = this.loop();
  }

  /** Stops polling; the batch in flight is finished (and marked) before this resolves. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wakeFromAnySleep?.();
    await this.loopDone;
    for (const w of this.waiters.splice(0)) w.reject(new Error('outbox relay stopped'));
  }

  /** Run a pass now instead of at the next poll (call after committing a transaction that enqueued events). */
  nudge(): void {
    this.nudged = true;
    this.wakeFromIdle?.();
  }

  /** Resolves once a pass that began after this call finds nothing pending (tests, shutdown). */
  async flush(timeoutMs = 30_000): Promise<void> {
    if (!this.running) throw new Error('outbox relay is not running');
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const pending = await this.nextPass(deadline);
      if (pending === 0) return;
    }
  }

  private nextPass(deadline: number): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`outbox flush timed out: ${this.table} still has unpublished rows`));
      }, Math.max(0, deadline - Date.now()));
      const waiter: PassWaiter = {
        minSeq: this.passSeq + 1,
        resolve: (n) => (clearTimeout(timer), resolve(n)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      };
      this.waiters.push(waiter);
      this.nudge();
    });
  }

  private async loop(): Promise<void> {
    let backoffMs = 0;
    while (this.running) {
      const seq = ++this.passSeq;
      this.nudged = false;
      let outcome: { published: number; failed: boolean };
      try {
        outcome = await this.relayBatch();
      } catch (err) {
        // The database itself failed (e.g. PostgreSQL restarting): same back-off as NATS.
        this.o.logger.error({ err, table: this.table }, 'outbox pass failed');
        outcome = { published: 0, failed: true };
      }
      // Counting costs a query: only for flush() waiters, and for the gauge at most once a second.
      if (this.waiters.length > 0 || Date.now() - this.lastCount >= PENDING_GAUGE_INTERVAL_MS) {
        this.lastCount = Date.now();
        const pending = await this.countPending();
        this.settleWaiters(seq, outcome.failed ? undefined : pending);
      }
      await this.cleanupIfDue();
      if (!this.running) break;
      if (outcome.failed) {
        backoffMs = Math.min(this.o.maxBackoffMs, backoffMs ? backoffMs * 2 : FIRST_BACKOFF_MS);
        await this.sleep(backoffMs, false);
      } else {
        backoffMs = 0;
        const more = outcome.published === this.o.batchSize;
        if (!more && !this.nudged) await this.sleep(this.o.pollIntervalMs, true);
      }
    }
  }

  private settleWaiters(seq: number, pending: number | undefined): void {
    if (pending === undefined) return;
    const ready = this.waiters.filter((w) => w.minSeq <= seq);
    this.waiters = this.waiters.filter((w) => w.minSeq > seq);
    for (const w of ready) w.resolve(pending);
  }

  private async relayBatch(): Promise<{ published: number; failed: boolean }> {
    // PostgreSQL: lock the batch so other replicas skip it, and hold the lock while publishing.
    // PGlite has a single connection that a transaction would block for the whole publish,
    // and no second relay to race with, so it reads and marks rows without one.
    if (this.o.db.kind === 'pg') {
      return this.o.db.transaction((tx) => this.publishRows(tx, 'FOR UPDATE SKIP LOCKED'));
    }
    return this.publishRows(this.o.db, '');
  }

  private async publishRows(q: Queryable, lockClause: string): Promise<{ published: number; failed: boolean }> {
    const { rows } = await q.query<OutboxRow>(
      `SELECT id, subject, payload FROM ${this.table} WHERE published_at IS NULL
       ORDER BY created_at, id LIMIT $1 ${lockClause}`,
      [this.o.batchSize],
    );
    if (rows.length === 0) return { published: 0, failed: false };
    // The whole batch goes out at once: one connection keeps the publish order, and the acks
    // come back together instead of one round trip per row.
    const settled = await Promise.allSettled(
      rows.map((row) => this.o.publisher.publish(`${this.o.subjectPrefix}.${row.subject}`, row.payload, row.id)),
    );
    const acked = rows.filter((_, i) => settled[i]!.status === 'fulfilled').map((row) => row.id);
    const failed = rows.filter((_, i) => settled[i]!.status === 'rejected').map((row) => row.id);
    if (acked.length > 0) {
      await q.query(
        `UPDATE ${this.table} SET published_at = now(), attempts = attempts + 1, last_error = NULL WHERE id = ANY($1::uuid[])`,
        [acked],
      );
      this.metrics?.published.inc(acked.length);
    }
    if (failed.length > 0) {
      const err = (settled.find((s) => s.status === 'rejected') as PromiseRejectedResult).reason as unknown;
      const message = err instanceof Error ? err.message : String(err);
      await q.query(`UPDATE ${this.table} SET attempts = attempts + 1, last_error = $2 WHERE id = ANY($1::uuid[])`, [
        failed,
        message.slice(0, 1000),
      ]);
      this.metrics?.errors.inc(failed.length);
      this.o.logger.warn({ err, firstEventId: failed[0], failed: failed.length }, 'outbox publish failed, will retry');
      // Back off: the failed rows go again, in order, once NATS is back.
      return { published: acked.length, failed: true };
    }
    this.o.logger.debug({ table: this.table, published: acked.length }, 'outbox batch published');
    return { published: acked.length, failed: false };
  }

  private async countPending(): Promise<number | undefined> {
    try {
      const { rows } = await this.o.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${this.table} WHERE published_at IS NULL`,
      );
      const n = Number(rows[0]?.n ?? 0);
      this.metrics?.pending.set(n);
      return n;
    } catch (err) {
      this.o.logger.warn({ err, table: this.table }, 'outbox pending count failed');
      return undefined;
    }
  }

  private async cleanupIfDue(): Promise<void> {
    if (Date.now() - this.lastCleanup < this.o.cleanupIntervalMs) return;
    this.lastCleanup = Date.now();
    try {
      const { rowCount } = await this.o.db.query(
        `DELETE FROM ${this.table} WHERE published_at IS NOT NULL
         AND published_at < now() - make_interval(secs => $1::double precision)`,
        [this.o.retentionMs / 1000],
      );
      if (rowCount > 0) this.o.logger.info({ table: this.table, deleted: rowCount }, 'outbox rows pruned');
    } catch (err) {
      this.o.logger.warn({ err, table: this.table }, 'outbox prune failed');
    }
  }

  /** Waits ms; stop() always cuts it short, nudge() only when idle (not during a back-off). */
  private sleep(ms: number, nudgeable: boolean): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wakeFromAnySleep = undefined;
        this.wakeFromIdle = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeFromAnySleep = done;
      if (nudgeable) this.wakeFromIdle = done;
    });
  }
}

function withoutUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
