import type { Queryable } from '@labelloop/storage';
import { encodeEvent, type EventDef, type EventMessage } from './event-types.js';
import { assertSchemaName, assertUuid } from './sql-names.js';

/**
 * The outbox table each service creates in its own numbered migration (see README.md).
 * Returned as SQL text with two statements; the migration file holds the same text.
 */
export function outboxTableSql(schema: string): string {
  const s = assertSchemaName(schema);
  return [
    `CREATE TABLE ${s}.outbox (id uuid PRIMARY KEY, subject text NOT NULL, payload bytea NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), published_at timestamptz, attempts int NOT NULL DEFAULT 0, last_error text);`,
    `CREATE INDEX outbox_unpublished_idx ON ${s}.outbox (created_at) WHERE published_at IS NULL;`,
  ].join('\n');
}

/**
 * Records an event in the caller's transaction: it is published by the OutboxRelay once that
 * transaction commits, and never if it rolls back. The row id is the event id, so it doubles
 * as the Nats-Msg-Id. Returns the event id.
 */
export async function enqueueEvent<T extends EventMessage>(
  tx: Queryable,
  schema: string,
  def: EventDef<T>,
  message: T,
): Promise<string> {
  const s = assertSchemaName(schema);
  const id = assertUuid(message.eventId, `eventId of ${def.subject}`);
  const bytes = encodeEvent(def, message);
  // The relay publishes in created_at order. clock_timestamp() (not now()) keeps several events
  // of one transaction apart, and "just after the newest pending row" breaks the ties left by
  // PGlite's millisecond clock, so e.g. dataset.created still leaves before item.ingested.
  await tx.query(
    `INSERT INTO ${s}.outbox (id, subject, payload, created_at)
     SELECT $1::uuid, $2::text, $3::bytea, GREATEST(clock_timestamp(), max(created_at) + interval '1 microsecond')
     FROM ${s}.outbox WHERE published_at IS NULL`,
    [id, def.subject, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)],
  );
  return id;
}
