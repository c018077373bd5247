import type { Logger } from '@labelloop/common';
import {
  AckPolicy,
  DeliverPolicy,
  nanos,
  type Consumer,
  type ConsumerConfig,
  type JetStreamManager,
  type JsMsg,
  type NatsConnection,
} from 'nats';
import { apiErrorCode } from './connection.js';
import type { EventDef, EventMessage } from './event-types.js';

/** What a work handler may do besides resolving (ack) or throwing (nak with delay). */
export interface WorkControl {
  /** Aborted by stop({ handBack: true }) (or handBack()): end the job at the next safe point. */
  readonly signal: AbortSignal;
  /** 1 on the first delivery. */
  readonly deliveryCount: number;
  readonly subject: string;
  /** Extends the AckWait now (the consumer also does it every ackWait/3 while the handler runs). */
  working(): void;
  /** The item goes back to the queue at once, whatever the handler returns (e.g. on SIGTERM). */
  handBack(): void;
}

export type WorkHandler<T> = (item: T, control: WorkControl) => Promise<void>;

export interface ConsumeWorkOptions<T extends EventMessage> {
  nc: NatsConnection;
  stream: string;
  /** One durable shared by every replica: each item goes to one of them. */
  durable: string;
  filterSubject: string;
  def: EventDef<T>;
  handler: WorkHandler<T>;
  logger: Logger;
  /** Unacknowledged time before the server redelivers (a dead worker's item), default 30 s. */
  ackWaitMs?: number;
  /** Deliveries before the server gives up on an item (default 5). */
  maxDeliver?: number;
  /** Items handled at once by this process (default 1). */
  concurrency?: number;
  /** First redelivery delay after a handler error, doubling per delivery up to 60 s (default 1000 ms). */
  retryDelayMs?: number;
  /** How long one pull waits for an item; bounds how long stop() waits for an idle pull (default 1000 ms). */
  pullExpiresMs?: number;
}

export interface WorkSubscription {
  /**
   * Stops taking items. With handBack, in-flight handlers are aborted (their signal fires) and
   * their items nak'ed for immediate redelivery; without, they finish normally. Resolves when
   * every in-flight handler has returned.
   */
  stop(options?: { handBack?: boolean }): Promise<void>;
}

const JS_CONSUMER_NOT_FOUND = 10014;
const MAX_RETRY_DELAY_MS = 60_000;

/** Runs `handler` for each work item, `concurrency` at a time, on a shared durable pull consumer. */
export async function consumeWork<T extends EventMessage>(options: ConsumeWorkOptions<T>): Promise<WorkSubscription> {
  const o = {
    ackWaitMs: 30_000,
    maxDeliver: 5,
    concurrency: 1,
    retryDelayMs: 1000,
    pullExpiresMs: 1000,
    ...options,
  };
  if (!(o.concurrency >= 1)) throw new Error('concurrency must be at least 1');
  const log = o.logger.child({ stream: o.stream, durable: o.durable });
  await ensureWorkConsumer(await o.nc.jetstreamManager(), o.stream, {
    durable_name: o.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: o.filterSubject,
    max_deliver: o.maxDeliver,
    ack_wait: nanos(o.ackWaitMs),
  });
  const consumer: Consumer = await o.nc.jetstream().consumers.get(o.stream, o.durable);

  let stopping = false;
  const inFlight = new Set<{ handBack(): void }>();

  // nak/working on a closed connection throw; the server then redelivers after AckWait anyway.
  const settle = (fn: () => void): void => {
    try {
      fn();
    } catch (err) {
      log.warn({ err }, 'work item signal not sent');
    }
  };

  const handle = async (m: JsMsg): Promise<void> => {
    let item: T;
    try {
      item = o.def.type.decode(m.data);
      if (!item.eventId) throw new Error('work item has no eventId');
    } catch (err) {
      log.error({ err, subject: m.subject, seq: m.seq }, 'undecodable work item terminated');
      m.term();
      return;
    }
    const abort = new AbortController();
    let handedBack = false;
    const entry = {
      handBack: () => {
        handedBack = true;
        abort.abort(new Error('work handed back'));
      },
    };
    const control: WorkControl = {
      signal: abort.signal,
      deliveryCount: m.info.deliveryCount,
      subject: m.subject,
      working: () => settle(() => m.working()),
      handBack: entry.handBack,
    };
    inFlight.add(entry);
    // A long job would otherwise outlive AckWait and be handed to a second worker.
    const keepAlive = setInterval(() => settle(() => m.working()), Math.max(100, Math.floor(o.ackWaitMs / 3)));
    let error: unknown;
    try {
      await o.handler(item, control);
    } catch (err) {
      error = err ?? new Error('work handler failed');
    } finally {
      clearInterval(keepAlive);
      inFlight.delete(entry);
    }
    if (handedBack) {
      log.info({ eventId: item.eventId }, 'work item handed back');
      settle(() => m.nak());
      return;
    }
    if (error !== undefined) {
      const deliveries = m.info.deliveryCount;
      const delay = Math.min(MAX_RETRY_DELAY_MS, o.retryDelayMs * 2 ** (deliveries - 1));
      log.warn({ err: error, eventId: item.eventId, deliveries, retryInMs: delay }, 'work handler failed');
      settle(() => m.nak(delay));
      return;
    }
    try {
      await m.ackAck();
    } catch (err) {
      // The item comes back after AckWait; work handlers are idempotent per item.
      log.warn({ err, eventId: item.eventId }, 'work ack not confirmed');
    }
  };

  // Each slot pulls one item at a time, so a busy process never holds items it cannot start.
  const slot = async (): Promise<void> => {
    while (!stopping && !o.nc.isClosed()) {
      let m: JsMsg | null;
      try {
        m = await consumer.next({ expires: o.pullExpiresMs });
      } catch (err) {
        if (stopping || o.nc.isClosed()) break;
        log.warn({ err }, 'work pull failed, retrying');
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      if (!m) continue;
      if (stopping) {
        settle(() => m.nak());
        break;
      }
      await handle(m);
    }
  };
  const done = Promise.all(Array.from({ length: o.concurrency }, () => slot()));

  return {
    async stop(stopOptions = {}) {
      stopping = true;
      if (stopOptions.handBack) for (const entry of inFlight) entry.handBack();
      await done;
    },
  };
}

async function ensureWorkConsumer(
  jsm: JetStreamManager,
  stream: string,
  config: Partial<ConsumerConfig> & { durable_name: string },
): Promise<void> {
  try {
    const info = await jsm.consumers.info(stream, config.durable_name);
    if (info.config.filter_subject !== config.filter_subject) {
      throw new Error(
        `consumer ${config.durable_name} on ${stream} filters "${info.config.filter_subject}", not "${config.filter_subject}"`,
      );
    }
    if (info.config.ack_wait !== config.ack_wait || info.config.max_deliver !== config.max_deliver) {
      await jsm.consumers.update(stream, config.durable_name, { ack_wait: config.ack_wait, max_deliver: config.max_deliver });
    }
  } catch (err) {
    if (apiErrorCode(err) !== JS_CONSUMER_NOT_FOUND) throw err;
    await jsm.consumers.add(stream, config);
  }
}
