import {
  DiscardPolicy,
  nanos,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type StreamInfo,
} from 'nats';
import { findStream } from './connection.js';
import { encodeEvent, type EventDef, type EventMessage } from './event-types.js';
import { JetStreamPublisher, type PublishResult } from './publisher.js';

// Work items (units of work shared by the replicas of a service) live on their own stream with
// WorkQueue retention: a message is removed once a consumer acks it. JetStream forbids streams
// with overlapping subjects, so the subjects must not fall under the events stream's `<prefix>.>`
// (the trainer uses `<prefix>-work.>`).

export interface EnsureWorkQueueStreamOptions {
  name: string;
  /** E.g. ['labelloop-work.>']. */
  subjects: string[];
  /** The server drops a second message with the same Nats-Msg-Id inside this window (default 2 min). */
  duplicateWindowMs?: number;
}

const DEFAULT_DUPLICATE_WINDOW_MS = 2 * 60 * 1000;

/** Creates the work-queue stream or updates its subjects/window. Safe to call on every start. */
export async function ensureWorkQueueStream(
  jsm: JetStreamManager,
  options: EnsureWorkQueueStreamOptions,
): Promise<StreamInfo> {
  if (options.subjects.length === 0) throw new Error('a stream needs at least one subject');
  const wanted = {
    subjects: options.subjects,
    duplicate_window: nanos(options.duplicateWindowMs ?? DEFAULT_DUPLICATE_WINDOW_MS),
  };
  const existing = await findStream(jsm, options.name);
  if (!existing) {
    return jsm.streams.add({
      name: options.name,
      storage: StorageType.File,
      retention: RetentionPolicy.Workqueue,
      // A full queue refuses new work rather than silently dropping queued items.
      discard: DiscardPolicy.New,
      ...wanted,
    });
  }
  const cfg = existing.config;
  if (cfg.retention !== RetentionPolicy.Workqueue) {
    // Retention cannot be changed in place; consuming a limits stream as a queue would redo work.
    throw new Error(`stream ${options.name} exists with ${cfg.retention} retention, not workqueue`);
  }
  const same =
    cfg.duplicate_window === wanted.duplicate_window &&
    cfg.subjects.length === wanted.subjects.length &&
    cfg.subjects.every((s, i) => s === wanted.subjects[i]);
  if (same) return existing;
  return jsm.streams.update(options.name, { ...cfg, ...wanted });
}

/**
 * Publishes work items with msg id = the item's eventId, so a retried publish is stored once.
 * It is an EventPublisher too, so an OutboxRelay can relay work rows through it.
 */
export class WorkQueuePublisher extends JetStreamPublisher {
  /** Encodes `item` with `def` and publishes it on the full `subject`. */
  publishItem<T extends EventMessage>(subject: string, def: EventDef<T>, item: T): Promise<PublishResult> {
    return this.publish(subject, encodeEvent(def, item), item.eventId);
  }
}
