import type { Logger, Registry } from '@labelloop/common';
import { connectNats, ensureStream, JetStreamPublisher, OutboxRelay } from '@labelloop/events';
import type { Database } from '@labelloop/storage';
import type { NatsConnection } from 'nats';
import { SCHEMA } from './rows.js';

export interface EventRelayOptions {
  db: Database;
  natsUrl: string;
  stream: string;
  subjectPrefix: string;
  logger: Logger;
  registry?: Registry;
}

export interface EventRelay {
  relay: OutboxRelay;
  nats: NatsConnection;
}

/** Connects to NATS, makes sure the stream exists and starts publishing the outbox. */
export async function startEventRelay(options: EventRelayOptions): Promise<EventRelay> {
  const { logger } = options;
  const nats = await connectNats({ url: options.natsUrl, name: 'labelloop-dataset', logger });
  await ensureStream(await nats.jetstreamManager(), { name: options.stream, subjects: [`${options.subjectPrefix}.>`] });
  const relay = new OutboxRelay({
    db: options.db,
    schema: SCHEMA,
    publisher: new JetStreamPublisher(nats),
    subjectPrefix: options.subjectPrefix,
    logger,
    registry: options.registry,
  });
  relay.start();
  return { relay, nats };
}
