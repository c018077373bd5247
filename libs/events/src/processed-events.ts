import type { Queryable } from '@labelloop/storage';
import { assertSchemaName, assertUuid } from './sql-names.js';

/** The table a consuming service creates in its own migration (see README.md). */
export function processedEventsTableSql(schema: string): string {
  const s = assertSchemaName(schema);
  return `CREATE TABLE ${s}.processed_events (consumer text NOT NULL, event_id uuid NOT NULL, processed_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (consumer, event_id));`;
}

/**
 * Makes an event handler's effect happen once per (consumer, event id), however often
 * JetStream delivers the event: the marker row and the effect commit in one transaction.
 */
export class ProcessedEvents {
  private readonly table: string;

  constructor(schema: string) {
    this.table = `${assertSchemaName(schema)}.processed_events`;
  }

  /**
   * Runs fn in the caller's transaction unless this consumer already processed the event.
   * Returns true when fn ran. On PostgreSQL a concurrent duplicate waits on the marker row
   * and then skips.
   */
  async runOnce(tx: Queryable, consumer: string, eventId: string, fn: () => Promise<void>): Promise<boolean> {
    if (!consumer) throw new Error('runOnce needs a consumer name');
    assertUuid(eventId, 'eventId');
    const { rowCount } = await tx.query(
      `INSERT INTO ${this.table} (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
      [consumer, eventId],
    );
    if (rowCount === 0) return false;
    await fn();
    return true;
  }

  /** Forgets markers older than the stream's max age (no redelivery can be that old). */
  async prune(db: Queryable, olderThanMs: number): Promise<number> {
    const { rowCount } = await db.query(
      `DELETE FROM ${this.table} WHERE processed_at < now() - make_interval(secs => $1::double precision)`,
      [olderThanMs / 1000],
    );
    return rowCount;
  }
}
