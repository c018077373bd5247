import { randomUUID } from 'node:crypto';
import { defineEvent, enqueueEvent } from '@labelloop/events';
import { trainingV1 } from '@labelloop/proto';
import type { Queryable } from '@labelloop/storage';
import type { Model, TrainingRun } from '../domain/types.js';
import { progressToProto, runStatusToProto } from '../grpc/convert.js';

// The trainer's events and work items, written to its outboxes inside the caller's transaction.
// Events (`training` outbox) go to the events stream under `<prefix>.`; work items
// (`training_work` outbox) go to the work-queue stream under `<prefix>-work.`.

export const WORK_SCHEMA = 'training_work';

export const trainerEvents = {
  trainingRequested: defineEvent({ subject: 'training.requested', type: trainingV1.TrainingRequested }),
  trainingProgressed: defineEvent({ subject: 'training.progress', type: trainingV1.TrainingProgressed }),
  modelPromoted: defineEvent({ subject: 'model.promoted', type: trainingV1.ModelPromoted }),
} as const;

/** The work-queue subject prefix for an installation prefix: `labelloop` → `labelloop-work`. */
export function workPrefix(subjectPrefix: string): string {
  return `${subjectPrefix}-work`;
}

export function enqueueWork(tx: Queryable, run: TrainingRun, trialId = ''): Promise<string> {
  return enqueueEvent(tx, WORK_SCHEMA, trainerEvents.trainingRequested, {
    eventId: randomUUID(),
    occurredAt: new Date(),
    runId: run.id,
    datasetId: run.datasetId,
    trialId,
  });
}

export function enqueueProgressed(tx: Queryable, run: TrainingRun): Promise<string> {
  return enqueueEvent(tx, 'training', trainerEvents.trainingProgressed, {
    eventId: randomUUID(),
    occurredAt: new Date(),
    runId: run.id,
    datasetId: run.datasetId,
    status: runStatusToProto(run.status),
    progress: progressToProto(run.progress),
  });
}

export function enqueuePromoted(tx: Queryable, model: Model, previous: Model | undefined, decidedBy: string): Promise<string> {
  return enqueueEvent(tx, 'training', trainerEvents.modelPromoted, {
    eventId: randomUUID(),
    occurredAt: new Date(),
    datasetId: model.datasetId,
    modelId: model.id,
    version: model.version,
    artifactPrefix: model.artifactPrefix,
    previousModelId: previous?.id ?? '',
    decidedBy,
  });
}
