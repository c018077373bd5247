import type { Logger } from '@labelloop/common';
import { connectNats, consumeEvents, defineEvent, ensureStream, followEvents, subjectFor, type EventSubscription } from '@labelloop/events';
import { trainingV1 } from '@labelloop/proto';
import type { NatsConnection } from 'nats';
import type { ModelRef } from '../domain/types.js';
import type { DatasetScoringQueue } from './dataset-scoring.js';

// NATS for inference: `labelloop.model.promoted` (published by the trainer) is consumed twice —
// by every replica for itself (each loads the new champion), and through the shared durable
// `inference-scoring` (one replica starts the pool scoring of the new version).

export const modelPromoted = defineEvent({ subject: 'model.promoted', type: trainingV1.ModelPromoted });

export const SCORING_DURABLE = 'inference-scoring';

export interface NatsOptions {
  url: string;
  stream: string;
  subjectPrefix: string;
  logger: Logger;
}

export async function connectMessaging(o: NatsOptions): Promise<NatsConnection> {
  const nc = await connectNats({ url: o.url, name: 'labelloop-inference', logger: o.logger });
  await ensureStream(await nc.jetstreamManager(), { name: o.stream, subjects: [`${o.subjectPrefix}.>`] });
  return nc;
}

export function refFromPromoted(e: trainingV1.ModelPromoted): ModelRef {
  return { datasetId: e.datasetId, modelId: e.modelId, version: e.version, artifactPrefix: e.artifactPrefix };
}

/** This replica's own view of promotions: every event from now on reaches `onPromoted`. */
export function followPromotions(nc: NatsConnection, o: NatsOptions, onPromoted: (ref: ModelRef) => void): Promise<EventSubscription> {
  return followEvents({
    nc,
    stream: o.stream,
    filterSubject: subjectFor(o.subjectPrefix, modelPromoted),
    def: modelPromoted,
    logger: o.logger,
    handler: async (event) => {
      o.logger.info({ datasetId: event.datasetId, version: event.version, decidedBy: event.decidedBy }, 'model promoted');
      onPromoted(refFromPromoted(event));
    },
  });
}

/** Shared by all replicas: each promotion starts one scoring job (idempotent per model version). */
export function consumePromotionsForScoring(nc: NatsConnection, o: NatsOptions, beginScoring: (ref: ModelRef) => Promise<void>): Promise<EventSubscription> {
  return consumeEvents({
    nc,
    stream: o.stream,
    durable: SCORING_DURABLE,
    filterSubject: subjectFor(o.subjectPrefix, modelPromoted),
    def: modelPromoted,
    logger: o.logger,
    handler: (event) => beginScoring(refFromPromoted(event)),
  });
}

export interface PromotionConsumers {
  stopScoringJobs(): Promise<void>;
  stopFollowing(): Promise<void>;
}

/**
 * The replica's two uses of model.promoted: following (every replica loads the new champion) and,
 * when this replica scores, the shared durable that begins the version's scoring job and wakes the
 * local scoring loop.
 */
export async function startPromotionConsumers(
  nc: NatsConnection,
  o: NatsOptions & {
    onPromoted: (ref: ModelRef) => void;
    /** Absent: this replica does not start scoring jobs. */
    scoring?: { queue: DatasetScoringQueue; shardSize: number; nudge: () => void };
  },
): Promise<PromotionConsumers> {
  const following = await followPromotions(nc, o, o.onPromoted);
  const { scoring } = o;
  const jobs =
    scoring &&
    (await consumePromotionsForScoring(nc, o, async (ref) => {
      const { created, progress } = await scoring.queue.beginScoring(ref, scoring.shardSize);
      o.logger.info({ datasetId: ref.datasetId, version: ref.version, created, jobId: progress.jobId, shards: progress.shardsTotal }, 'pool scoring begun');
      scoring.nudge();
    }));
  return {
    stopScoringJobs: async () => jobs?.stop(),
    stopFollowing: () => following.stop(),
  };
}
