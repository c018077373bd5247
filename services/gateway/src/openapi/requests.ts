// Request schemas (path params, query strings, JSON bodies, documented multipart forms).
// They validate before a handler runs; failures are 400 problems naming each field.
import { z } from 'zod';
import { ActiveLearningSettings, exportFormats, ImageSpec, itemStatuses, labelSources, roles, splits, SplitRatios } from './schemas.js';

export const IdParams = z.object({ id: z.string().min(1).max(128) });
export const ApiKeyIdParams = z.object({ id: z.uuid() });

const limit = z.coerce.number().int().min(1).max(1000).optional().meta({ description: 'Page size, 1..1000.' });
const cursor = z.string().min(1).max(512).optional().meta({ description: 'nextCursor of the previous page.' });

export const ListDatasetsQuery = z.object({
  limit,
  cursor,
  deleted: z
    .enum(['true', 'false'])
    .optional()
    .transform((raw) => raw === 'true')
    .meta({ description: 'true: the deleted datasets that can still be restored (admin only).' }),
});

export const ListItemsQuery = z.object({
  status: z.enum(itemStatuses).optional(),
  label: z.string().min(1).max(100).optional().meta({ description: 'Current label (class name).' }),
  split: z.enum(splits).optional(),
  source: z.enum(labelSources).optional().meta({ description: 'Source of the current label.' }),
  limit,
  cursor,
});

export const ExportQuery = z.object({
  format: z.enum(exportFormats).default('zip'),
  source: z
    .string()
    .transform((raw) =>
      raw
        .split(',')
        .map((part) => part.trim())
        .filter((part) => part !== ''),
    )
    .pipe(z.array(z.enum(labelSources)))
    .optional()
    .meta({ description: 'Comma-separated label sources to include, e.g. human,import; default all.' }),
  minConfidence: z.coerce
    .number()
    .min(0)
    .max(1)
    .optional()
    .meta({ description: 'Leave out model labels below this confidence; labels without one are kept.' }),
});

const className = z.string().trim().min(1).max(100);

/** Settings in a request: every field optional (omitted → its default), nothing unknown. */
export const ActiveLearningSettingsBody = ActiveLearningSettings.partial().strict().meta({ id: 'ActiveLearningSettingsInput' });

export const CreateDatasetBody = z.strictObject({
  name: z.string().trim().min(1).max(200),
  classes: z.array(className).min(1).max(10_000).meta({ description: 'Ordered class names.' }),
  image: ImageSpec.optional().meta({ description: 'Default 28×28×1.' }),
  splits: SplitRatios.optional().meta({ description: 'Default 0.7 / 0.15 / 0.15.' }),
  activeLearning: ActiveLearningSettingsBody.optional().meta({ description: 'Omitted fields take their defaults.' }),
});

export const SetLabelBody = z.strictObject({
  label: className,
  expectedVersion: z
    .int()
    .min(0)
    .optional()
    .meta({ description: 'The item’s labelVersion you saw; a newer one makes this a 409.' }),
});

export const CreateApiKeyBody = z.strictObject({
  name: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .regex(/^[\w.@ -]+$/, 'use letters, digits, spaces and . @ _ -')
    .meta({ description: 'Who uses the key; recorded as the actor of their labels.' }),
  role: z.enum(roles),
  datasets: z
    .array(z.uuid())
    .min(1)
    .max(1000)
    .optional()
    .meta({ description: 'Limit the key to these datasets; omitted: every dataset.' }),
});

const binaryFile = z.string().meta({ format: 'binary' });

export const UploadForm = z.object({
  label: z
    .string()
    .optional()
    .meta({ description: 'Class for every file of the request. Must come BEFORE the file parts.' }),
  file: z.array(binaryFile).min(1).meta({ description: 'One part per image (PNG, JPEG or WebP).' }),
});

export const ImportForm = z.object({
  addMissingClasses: z
    .enum(['true', 'false'])
    .optional()
    .meta({ description: 'Add class folders missing from the dataset. Must come BEFORE the archive part.' }),
  archive: binaryFile.meta({ description: 'ZIP with one folder per class (or unlabelled/).' }),
});

export const ReviewNextQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(10).meta({ description: 'Tasks to lease, 1–100 (default 10).' }),
});

export const ReviewAnswerBody = z.strictObject({
  answers: z
    .array(
      z.strictObject({
        itemId: z.string().min(1).max(100),
        action: z.enum(['label', 'skip', 'not_in_classes']),
        label: className.optional().meta({ description: 'The class, for action label.' }),
      }),
    )
    .min(1)
    .max(100),
}).refine((body) => body.answers.every((a) => (a.action === 'label') === (a.label !== undefined)), {
  message: 'give a label with action label, and only then',
  path: ['answers'],
});

export const PredictQuery = z.strictObject({
  topK: z.coerce.number().int().min(1).max(100).default(3).meta({ description: 'Suggestions per image (default 3).' }),
});

export const PredictForm = z.object({
  file: z.array(binaryFile).min(1).max(256).meta({ description: 'One part per image (PNG, JPEG or WebP), at most 256.' }),
});
