import { datasetV1 } from '@labelloop/proto';

// The part of a ts-proto `MessageFns<T>` an event needs: bytes in, bytes out.
export interface EventCodec<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(input: Uint8Array): T;
}

/** Every event message carries its id as field 1 (`event_id`), a uuid. */
export interface EventMessage {
  eventId: string;
}

export interface EventDef<T extends EventMessage> {
  /** Subject suffix `<noun>.<verb>`, e.g. `item.labeled`; the installation prefix goes in front. */
  readonly subject: string;
  readonly type: EventCodec<T>;
}

const SUFFIX = /^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$/;
const PREFIX = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

export function defineEvent<T extends EventMessage>(def: { subject: string; type: EventCodec<T> }): EventDef<T> {
  if (!SUFFIX.test(def.subject)) {
    throw new Error(`event subject must be <noun>.<verb> in lower case, got "${def.subject}"`);
  }
  return Object.freeze({ subject: def.subject, type: def.type });
}

export function assertSubjectPrefix(prefix: string): void {
  if (!PREFIX.test(prefix)) {
    throw new Error(`subject prefix must be dot-separated tokens without wildcards, got "${prefix}"`);
  }
}

/** `subjectFor('labelloop', itemLabeled)` → `labelloop.item.labeled`. */
export function subjectFor(prefix: string, def: { subject: string }): string {
  assertSubjectPrefix(prefix);
  return `${prefix}.${def.subject}`;
}

export function encodeEvent<T extends EventMessage>(def: EventDef<T>, message: T): Uint8Array {
  return def.type.encode(message).finish();
}

export function decodeEvent<T extends EventMessage>(def: EventDef<T>, payload: Uint8Array): T {
  return def.type.decode(payload);
}

/** Events the dataset service publishes (proto/labelloop/dataset/v1/dataset_events.proto). */
export const datasetEvents = {
  datasetCreated: defineEvent({ subject: 'dataset.created', type: datasetV1.DatasetCreated }),
  itemIngested: defineEvent({ subject: 'item.ingested', type: datasetV1.ItemIngested }),
  itemLabeled: defineEvent({ subject: 'item.labeled', type: datasetV1.ItemLabeled }),
  importFinished: defineEvent({ subject: 'import.finished', type: datasetV1.ImportFinished }),
} as const;
