import type { Logger } from '@labelloop/common';
import { DeliverPolicy, type ConsumerMessages, type NatsConnection } from 'nats';
import type { EventHandler, EventMeta, EventSubscription } from './consumer.js';
import type { EventDef, EventMessage } from './event-types.js';

export interface FollowEventsOptions<T extends EventMessage> {
  nc: NatsConnection;
  stream: string;
  /** Full subject, e.g. subjectFor(prefix, trainerEvents.modelPromoted). */
  filterSubject: string;
  def: EventDef<T>;
  handler: EventHandler<T>;
  logger: Logger;
}

/**
 * Runs `handler` in THIS process for every event published from now on — unlike consumeEvents,
 * whose durable is shared so that each event goes to one replica. For state every replica keeps in
 * memory (loaded models, caches). An ordered, ephemeral consumer: created when this resolves (events
 * published afterwards are seen), recreated by the client after gaps and reconnects, gone with the
 * process. No acks and no redelivery: a handler error is logged and the event is not seen again, so
 * a handler that must not lose an event retries by itself.
 */
export async function followEvents<T extends EventMessage>(o: FollowEventsOptions<T>): Promise<EventSubscription> {
  const log = o.logger.child({ stream: o.stream, follow: o.filterSubject });
  // A string filter (not an array): nats-server 2.9 knows only filter_subject.
  const consumer = await o.nc.jetstream().consumers.get(o.stream, { filterSubjects: o.filterSubject, deliver_policy: DeliverPolicy.New });
  const messages: ConsumerMessages = await consumer.consume();
  const done = (async () => {
    for await (const m of messages) {
      let event: T;
      try {
        event = o.def.type.decode(m.data);
      } catch (err) {
        log.error({ err, subject: m.subject, seq: m.seq }, 'undecodable event skipped');
        continue;
      }
      const meta: EventMeta = {
        subject: m.subject,
        streamSequence: m.seq,
        deliveryCount: m.info.deliveryCount,
        msgId: m.headers?.get('Nats-Msg-Id') || undefined,
      };
      try {
        await o.handler(event, meta);
      } catch (err) {
        log.error({ err, eventId: event.eventId }, 'event handler failed; the event is not redelivered');
      }
    }
  })().catch((err: unknown) => log.error({ err }, 'event follower stopped'));
  return {
    async stop() {
      await messages.close();
      await done;
    },
  };
}
