import type { Logger, Registry } from '@labelloop/common';
import {
  connectNats,
  consumeEvents,
  consumeWork,
  datasetEvents,
  ensureStream,
  ensureWorkQueueStream,
  JetStreamPublisher,
  OutboxRelay,
  subjectFor,
  WorkQueuePublisher,
  type EventSubscription,
  type WorkSubscription,
} from '@labelloop/events';
import { commonV1 } from '@labelloop/proto';
import type { Database } from '@labelloop/storage';
import type { NatsConnection } from 'nats';
import type { RunExecutor } from '../domain/run-executor.js';
import type { TrainerService } from '../domain/trainer-service.js';
import { SCHEMA } from './run-repository.js';
import { trainerEvents, WORK_SCHEMA, workPrefix } from './trainer-events.js';

// NATS for the trainer. Two streams: the installation's events stream (`<prefix>.>`, shared with
// the other services) and a work-queue stream `<stream>_WORK` on `<prefix>-work.>` (JetStream
// forbids overlapping subjects, so work cannot live under `<prefix>.>`). Two outbox relays:
// `training.outbox` → events stream, `training_work.outbox` → work stream.

export interface MessagingOptions {
  db: Database;
  natsUrl: string;
  stream: string;
  subjectPrefix: string;
  logger: Logger;
  registry?: Registry;
}

export interface Messaging {
  nats: NatsConnection;
  events: OutboxRelay;
  work: OutboxRelay;
  workStream: string;
  workSubject: string;
}

export function workStreamName(stream: string): string {
  return `${stream}_WORK`;
}

export async function startMessaging(o: MessagingOptions): Promise<Messaging> {
  const nats = await connectNats({ url: o.natsUrl, name: 'labelloop-trainer', logger: o.logger });
  const jsm = await nats.jetstreamManager();
  await ensureStream(jsm, { name: o.stream, subjects: [`${o.subjectPrefix}.>`] });
  const workStream = workStreamName(o.stream);
  await ensureWorkQueueStream(jsm, { name: workStream, subjects: [`${workPrefix(o.subjectPrefix)}.>`] });
  const events = new OutboxRelay({ db: o.db, schema: SCHEMA, publisher: new JetStreamPublisher(nats), subjectPrefix: o.subjectPrefix, logger: o.logger, registry: o.registry });
  const work = new OutboxRelay({ db: o.db, schema: WORK_SCHEMA, publisher: new WorkQueuePublisher(nats), subjectPrefix: workPrefix(o.subjectPrefix), logger: o.logger, registry: o.registry });
  events.start();
  work.start();
  return { nats, events, work, workStream, workSubject: subjectFor(workPrefix(o.subjectPrefix), trainerEvents.trainingRequested) };
}

export const WORK_DURABLE = 'trainers';

/** Every replica shares the durable `trainers`: each work item goes to one of them. */
export function startWorkConsumer(
  m: Messaging,
  executor: RunExecutor,
  o: { logger: Logger; concurrency: number; ackWaitMs: number; maxDeliver: number },
): Promise<WorkSubscription> {
  return consumeWork({
    nc: m.nats,
    stream: m.workStream,
    durable: WORK_DURABLE,
    filterSubject: m.workSubject,
    def: trainerEvents.trainingRequested,
    logger: o.logger,
    concurrency: o.concurrency,
    ackWaitMs: o.ackWaitMs,
    maxDeliver: o.maxDeliver,
    handler: (item, control) => executor.execute(item.runId, control, item.trialId),
  });
}

/** Human labels feed the retrain policy. */
export function startPolicyConsumer(m: Messaging, service: TrainerService, o: { stream: string; subjectPrefix: string; logger: Logger }): Promise<EventSubscription> {
  return consumeEvents({
    nc: m.nats,
    stream: o.stream,
    durable: 'trainer-retrain-policy',
    filterSubject: subjectFor(o.subjectPrefix, datasetEvents.itemLabeled),
    def: datasetEvents.itemLabeled,
    logger: o.logger,
    handler: async (event) => {
      if (event.source !== commonV1.LabelSource.LABEL_SOURCE_HUMAN) return;
      await service.onHumanLabel(event.eventId, event.datasetId);
    },
  });
}
