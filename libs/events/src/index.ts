export { connectNats, ensureStream, type ConnectNatsOptions, type EnsureStreamOptions } from './connection.js';
export {
  defineEvent,
  subjectFor,
  encodeEvent,
  decodeEvent,
  datasetEvents,
  type EventCodec,
  type EventDef,
  type EventMessage,
} from './event-types.js';
export {
  JetStreamPublisher,
  type EventPublisher,
  type JetStreamPublisherOptions,
  type PublishResult,
} from './publisher.js';
export { enqueueEvent, enqueueEvents, outboxEvent, outboxTableSql, type OutboxEvent } from './outbox.js';
export { OutboxRelay, type OutboxRelayOptions } from './outbox-relay.js';
export {
  consumeEvents,
  type ConsumeEventsOptions,
  type EventHandler,
  type EventMeta,
  type EventSubscription,
} from './consumer.js';
export { followEvents, type FollowEventsOptions } from './follower.js';
export { ProcessedEvents, processedEventsTableSql } from './processed-events.js';
export { OUTBOX_PENDING, OUTBOX_PUBLISHED_TOTAL, OUTBOX_PUBLISH_ERRORS_TOTAL } from './metric-names.js';
export { ensureWorkQueueStream, WorkQueuePublisher, type EnsureWorkQueueStreamOptions } from './work-queue.js';
export {
  consumeWork,
  type ConsumeWorkOptions,
  type WorkControl,
  type WorkHandler,
  type WorkSubscription,
} from './work-queue-consumer.js';
export { eventsEnvSchema } from './events-config.js';
