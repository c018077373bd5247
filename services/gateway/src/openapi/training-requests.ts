// Request schemas of the training routes (bodies, queries, the trigger header).
import { z } from 'zod';
import { HyperParameters, SearchSettings } from './training-schemas.js';

export const StartTrainingRunBody = z
  .strictObject({
    hyperParameters: HyperParameters.optional().meta({ description: 'Default: the defaults for the dataset’s images.' }),
    search: SearchSettings.optional().meta({ description: 'Default: no search.' }),
  })
  .optional();

export const ListTrainingRunsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).optional().meta({ description: 'Page size, 1..1000.' }),
  cursor: z.string().min(1).max(512).optional().meta({ description: 'nextCursor of the previous page.' }),
});

export const RetrainPolicyBody = z.strictObject({
  everyHumanLabels: z.int().min(0).max(10_000_000).optional(),
  replayRatio: z.number().min(0).max(1).optional(),
  promotionTolerance: z.number().min(0).max(1).optional(),
  maxRecallDrop: z.number().min(0).max(1).optional(),
});

/** Header that marks a run started by a scheduler (the retrain command sends it). */
export const TRIGGER_HEADER = 'x-labelloop-trigger';
export const TriggerHeader = z.enum(['api', 'schedule']).default('api');
