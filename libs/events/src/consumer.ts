import type { Logger } from '@labelloop/common';
import {
  AckPolicy,
  DeliverPolicy,
  nanos,
  type ConsumerConfig,
  type ConsumerInfo,
  type ConsumerMessages,
  type JetStreamManager,
  type JsMsg,
  type NatsConnection,
} from 'nats';
import { apiErrorCode } from './connection.js';
import type { EventDef, EventMessage } from './event-types.js';

export interface EventMeta {
  subject: string;
  streamSequence: number;
  /** 1 on the first delivery. */
  deliveryCount: number;
  /** The Nats-Msg-Id the publisher set (the outbox row id). */
  msgId: string | undefined;
}

export type EventHandler<T> = (event: T, meta: EventMeta) => Promise<void>;

export interface ConsumeEventsOptions<T extends EventMessage> {
  nc: NatsConnection;
  stream: string;
  /** Durable consumer name: one per consuming service and purpose; replicas share it. */
  durable: string;
  /** Full subject, e.g. subjectFor(prefix, datasetEvents.itemLabeled). */
  filterSubject: string;
  def: EventDef<T>;
  handler: EventHandler<T>;
  logger: Logger;
  /** Deliveries before the server gives up on a message (default 20). */
  maxDeliver?: number;
  /** Time a delivery may stay unacknowledged before it is redelivered (default 30 s). */
  ackWaitMs?: number;
  /** First redelivery delay after a handler error; doubles per attempt up to 60 s (default 1000 ms). */
  retryDelayMs?: number;
  /** Messages pulled per request (default 10). */
  batchSize?: number;
}

export interface EventSubscription {
  /** Stops pulling, hands back buffered messages and waits for the handler in flight. */
  stop(): Promise<void>;
}

const JS_CONSUMER_NOT_FOUND = 10014;
const MAX_RETRY_DELAY_MS = 60_000;
const RESUBSCRIBE_DELAY_MS = 1000;

/**
 * Runs `handler` for every event on a durable pull consumer (explicit ack): success acks,
 * a throw naks with a growing delay so the event comes back, and a payload that does not
 * decode (or carries no eventId) is terminated as poison. Handlers should be idempotent
 * (see ProcessedEvents): a lost ack means a second delivery.
 */
export async function consumeEvents<T extends EventMessage>(options: ConsumeEventsOptions<T>): Promise<EventSubscription> {
  const o = {
    ...options,
    maxDeliver: options.maxDeliver ?? 20,
    ackWaitMs: options.ackWaitMs ?? 30_000,
    retryDelayMs: options.retryDelayMs ?? 1000,
    batchSize: options.batchSize ?? 10,
  };
  const log = o.logger.child({ stream: o.stream, durable: o.durable });
  const jsm = await o.nc.jetstreamManager();
  await ensureConsumer(jsm, o.stream, {
    durable_name: o.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: o.filterSubject,
    max_deliver: o.maxDeliver,
    ack_wait: nanos(o.ackWaitMs),
  });
  const consumer = await o.nc.jetstream().consumers.get(o.stream, o.durable);

  let stopping = false;
  let messages: ConsumerMessages | undefined;
  let wakeRetry: (() => void) | undefined;

  const handle = async (m: JsMsg): Promise<void> => {
    let event: T;
    try {
      event = o.def.type.decode(m.data);
      if (!event.eventId) throw new Error('event has no eventId');
    } catch (err) {
      // Redelivering bytes that cannot decode would fail forever: drop them, loudly.
      log.error({ err, subject: m.subject, seq: m.seq }, 'undecodable event terminated');
      // No reason text: nats-server 2.9 only understands a bare +TERM.
      m.term();
      return;
    }
    const meta: EventMeta = {
      subject: m.subject,
      streamSequence: m.seq,
      deliveryCount: m.info.deliveryCount,
      msgId: m.headers?.get('Nats-Msg-Id') || undefined,
    };
    // Tell the server we are still working so a slow handler is not redelivered meanwhile.
    const keepAlive = setInterval(() => m.working(), Math.max(500, o.ackWaitMs / 2));
    try {
      await o.handler(event, meta);
    } catch (err) {
      clearInterval(keepAlive);
      const delay = Math.min(MAX_RETRY_DELAY_MS, o.retryDelayMs * 2 ** (meta.deliveryCount - 1));
      if (o.maxDeliver > 0 && meta.deliveryCount >= o.maxDeliver) {
        log.error({ err, eventId: event.eventId, deliveries: meta.deliveryCount }, 'event handler failed on last delivery');
      } else {
        log.warn({ err, eventId: event.eventId, deliveries: meta.deliveryCount, retryInMs: delay }, 'event handler failed');
      }
      m.nak(delay);
      return;
    }
    clearInterval(keepAlive);
    try {
      await m.ackAck();
    } catch (err) {
      // The server will redeliver after ack_wait; an idempotent handler makes that harmless.
      log.warn({ err, eventId: event.eventId }, 'event ack not confirmed');
    }
  };

  const run = async (): Promise<void> => {
    // A closed connection never comes back (reconnects happen underneath, not here).
    while (!stopping && !o.nc.isClosed()) {
      try {
        messages = await consumer.consume({ max_messages: o.batchSize });
        if (stopping) await messages.close();
        for await (const m of messages) {
          // After stop() the rest of the pulled batch goes straight back to the server.
          if (stopping) m.nak();
          else await handle(m);
        }
      } catch (err) {
        log.error({ err }, 'event consumer failed, resubscribing');
      }
      if (!stopping && !o.nc.isClosed()) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, RESUBSCRIBE_DELAY_MS);
          wakeRetry = () => (clearTimeout(timer), resolve());
        });
      }
    }
  };
  const done = run();

  return {
    async stop() {
      if (stopping) return done;
      stopping = true;
      wakeRetry?.();
      await messages?.close();
      await done;
    },
  };
}

async function ensureConsumer(jsm: JetStreamManager, stream: string, config: Partial<ConsumerConfig> & { durable_name: string }): Promise<ConsumerInfo> {
  let info: ConsumerInfo;
  try {
    info = await jsm.consumers.info(stream, config.durable_name);
  } catch (err) {
    if (apiErrorCode(err) !== JS_CONSUMER_NOT_FOUND) throw err;
    return jsm.consumers.add(stream, config);
  }
  if (info.config.filter_subject !== config.filter_subject) {
    // NATS 2.9 cannot change a durable's filter; a silent mismatch would consume the wrong events.
    throw new Error(
      `consumer ${config.durable_name} on ${stream} filters "${info.config.filter_subject}", not "${config.filter_subject}": delete it or use another durable name`,
    );
  }
  if (info.config.ack_wait !== config.ack_wait || info.config.max_deliver !== config.max_deliver) {
    return jsm.consumers.update(stream, config.durable_name, { ack_wait: config.ack_wait, max_deliver: config.max_deliver });
  }
  return info;
}
