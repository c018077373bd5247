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

/** An event ready for the outbox: its id (also the Nats-Msg-Id), subject and protobuf bytes. */
export interface OutboxEvent {
  id: string;
  subject: string;
  payload: Uint8Array;
}

export function outboxEvent<T extends EventMessage>(def: EventDef<T>, message: T): OutboxEvent {
  return { id: assertUuid(message.eventId, `eventId of ${def.subject}`), subject: def.subject, payload: encodeEvent(def, message) };
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
  const event = outboxEvent(def, message);
  await enqueueEvents(tx, schema, [event]);
  return event.id;
}

/** enqueueEvent for several events in one statement; they are published in the order given. */
export async function enqueueEvents(tx: Queryable, schema: string, events: readonly OutboxEvent[]): Promise<void> {
  if (events.length === 0) return;
  const s = assertSchemaName(schema);
  const params: unknown[] = [];
  const rows = events.map(({ id, subject, payload }, i) => {
    params.push(assertUuid(id, `eventId of ${subject}`), subject, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength));
    const n = params.length;
    return `($${n - 2}::uuid, $${n - 1}::text, $${n}::bytea, ${i})`;
  });
  // The relay publishes in created_at order. clock_timestamp() (not now()) keeps the events of
  // successive statements apart, "just after the newest pending row" breaks the ties left by
  // PGlite's millisecond clock (so e.g. dataset.created still leaves before item.ingested), and
  // one microsecond per position keeps this statement's events in the order given.
  await tx.query(
    `INSERT INTO ${s}.outbox (id, subject, payload, created_at)
     SELECT v.id, v.subject, v.payload, base.t + v.ord * interval '1 microsecond'
       FROM (VALUES ${rows.join(', ')}) AS v(id, subject, payload, ord),
            (SELECT GREATEST(clock_timestamp(), max(created_at) + interval '1 microsecond') AS t
               FROM ${s}.outbox WHERE published_at IS NULL) AS base`,
    params,
  );
}
