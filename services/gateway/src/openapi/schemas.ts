// The JSON shapes of the REST API as zod schemas: request schemas validate input, response
// schemas type the proto → JSON mapping and, with the route table, generate the OpenAPI
// document, so the document cannot drift from the code.
import { z } from 'zod';

export const itemStatuses = ['unlabelled', 'labelled', 'excluded'] as const;
export const splits = ['train', 'validation', 'test'] as const;
export const labelSources = ['human', 'model', 'import'] as const;
export const importStatuses = ['pending', 'running', 'succeeded', 'failed'] as const;
export const exportFormats = ['zip', 'csv', 'jsonl'] as const;
export const roles = ['admin', 'labeller', 'viewer'] as const;

const timestamp = z.iso.datetime().meta({ description: 'RFC 3339 timestamp (UTC)' });
const count = z.int().min(0);

export const ImageSpec = z
  .object({
    width: z.int().min(1).max(8192),
    height: z.int().min(1).max(8192),
    channels: z.int().min(1).max(4),
  })
  .meta({ id: 'ImageSpec', description: 'Input size of the dataset’s models; images are resized to it.' });

export const SplitRatios = z
  .object({ train: z.number().min(0).max(1), validation: z.number().min(0).max(1), test: z.number().min(0).max(1) })
  .meta({ id: 'SplitRatios', description: 'Fractions of labelled items per split; they sum to 1.' });

export const acquisitionStrategies = ['random', 'least_confidence', 'margin', 'entropy', 'bald'] as const;
export const diversities = ['none', 'k_center'] as const;

export const ActiveLearningSettings = z
  .object({
    targetError: z.number().gt(0).max(0.5).meta({ description: 'ε: the largest error auto-labels may have (default 0.02).' }),
    confidence: z
      .number()
      .min(0.5)
      .lt(1)
      .meta({ description: '1 − δ: confidence with which the error bound must hold (default 0.95).' }),
    strategy: z.enum(acquisitionStrategies).meta({ description: 'How the review queue is ordered (default margin).' }),
    diversity: z
      .enum(diversities)
      .meta({ description: 'k_center: the top of the queue is spread over the embedding space (default none).' }),
    mcSamples: z.int().min(2).max(100).meta({ description: 'MC-dropout passes for bald (default 20).' }),
    auditShare: z.number().min(0).max(1).meta({ description: 'Share of new auto-labels audited blind (default 0.02).' }),
    auditMinimum: z.int().min(0).max(100_000).meta({ description: 'At least this many audits per scoring (default 10).' }),
    leaseSeconds: z.int().min(5).max(86_400).meta({ description: 'How long a review lease lasts (default 300).' }),
    autoLabel: z.boolean().meta({ description: 'Whether qualifying predictions become labels (default true).' }),
  })
  .meta({ id: 'ActiveLearningSettings' });

export const Dataset = z
  .object({
    id: z.string(),
    name: z.string(),
    classes: z.array(z.string()).meta({ description: 'Ordered: a class’s index is its model output index.' }),
    image: ImageSpec,
    splits: SplitRatios,
    createdAt: timestamp,
    activeLearning: ActiveLearningSettings,
    deletedAt: timestamp.optional().meta({ description: 'Set on a deleted dataset (GET /v1/datasets?deleted=true).' }),
    purgeAfter: timestamp
      .optional()
      .meta({ description: 'When a deleted dataset is purged for good; restorable until then.' }),
  })
  .meta({ id: 'Dataset' });

const counts = z.record(z.string(), count);
export const DatasetStatistics = z
  .object({
    totalItems: count,
    byStatus: counts.meta({ description: 'Keys: unlabelled, labelled.' }),
    bySplit: counts.meta({ description: 'Keys: train, validation, test, unassigned.' }),
    byClass: counts.meta({ description: 'Current label per class (labelled items only).' }),
    bySource: counts.meta({ description: 'Keys: human, model, import.' }),
  })
  .meta({ id: 'DatasetStatistics' });

export const DatasetWithStatistics = Dataset.extend({ statistics: DatasetStatistics }).meta({
  id: 'DatasetWithStatistics',
});

export const DatasetPage = z
  .object({ datasets: z.array(Dataset), nextCursor: z.string().nullable() })
  .meta({ id: 'DatasetPage', description: 'nextCursor is null on the last page.' });

export const Label = z
  .object({
    value: z.string(),
    source: z.enum(labelSources),
    actor: z.string().meta({ description: 'API key name, model version or import id.' }),
    confidence: z.number().nullable(),
    modelVersion: z.string().nullable(),
    labeledAt: timestamp.nullable(),
  })
  .meta({ id: 'Label' });

export const Item = z
  .object({
    id: z.string(),
    datasetId: z.string(),
    sha256: z.string(),
    fileName: z.string(),
    width: z.int(),
    height: z.int(),
    format: z.string().meta({ description: 'jpeg, png or webp' }),
    sizeBytes: count,
    status: z.enum(itemStatuses),
    split: z.enum(splits).nullable(),
    label: Label.nullable(),
    labelVersion: count.meta({ description: 'Increments on every label change; send it back as expectedVersion.' }),
    createdAt: timestamp,
  })
  .meta({ id: 'Item' });

export const ItemPage = z
  .object({ items: z.array(Item), nextCursor: z.string().nullable() })
  .meta({ id: 'ItemPage', description: 'nextCursor is null on the last page.' });

export const LabelEvent = z
  .object({
    id: z.string(),
    itemId: z.string(),
    value: z.string().nullable().meta({ description: 'null when the label was removed.' }),
    source: z.enum(labelSources),
    actor: z.string(),
    confidence: z.number().nullable(),
    modelVersion: z.string().nullable(),
    version: count,
    createdAt: timestamp,
  })
  .meta({ id: 'LabelEvent' });

export const LabelHistory = z.object({ events: z.array(LabelEvent) }).meta({ id: 'LabelHistory' });

export const FileError = z
  .object({
    fileName: z.string(),
    code: z.string().meta({ description: 'empty_file, too_large, not_an_image, corrupt_image, too_many_pixels, …' }),
    reason: z.string(),
  })
  .meta({ id: 'FileError' });

export const UploadResult = z
  .object({
    fileName: z.string(),
    outcome: z.enum(['created', 'duplicate', 'rejected']),
    item: Item.optional(),
    error: z.object({ code: z.string(), reason: z.string() }).optional(),
  })
  .meta({ id: 'UploadResult' });

export const UploadResponse = z
  .object({ results: z.array(UploadResult), created: count, duplicates: count, rejected: count })
  .meta({ id: 'UploadResponse', description: 'One result per file part, in the order they were sent.' });

export const Import = z
  .object({
    id: z.string(),
    datasetId: z.string(),
    fileName: z.string(),
    status: z.enum(importStatuses),
    total: count,
    processed: count,
    created: count,
    duplicates: count,
    rejected: count,
    errors: z.array(FileError).meta({ description: 'The first rejected entries (capped).' }),
    failureReason: z.string().nullable(),
    addedClasses: z.array(z.string()),
    createdAt: timestamp,
    finishedAt: timestamp.nullable(),
  })
  .meta({ id: 'Import' });

export const ImportAccepted = Import.extend({ importId: z.string().meta({ description: 'Same as id.' }) }).meta({
  id: 'ImportAccepted',
});

export const ApiKey = z
  .object({
    id: z.string(),
    name: z.string(),
    role: z.enum(roles),
    createdAt: timestamp,
    revokedAt: timestamp.nullable(),
    datasets: z
      .array(z.string())
      .optional()
      .meta({ description: 'The datasets the key is limited to; absent: every dataset.' }),
  })
  .meta({ id: 'ApiKey' });

export const ApiKeyCreated = ApiKey.extend({
  key: z.string().meta({ description: 'The secret; shown only in this response.' }),
}).meta({ id: 'ApiKeyCreated' });

export const ApiKeyList = z.object({ apiKeys: z.array(ApiKey) }).meta({ id: 'ApiKeyList' });

export const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.int(),
    detail: z.string(),
    instance: z.string().optional(),
    errors: z
      .array(
        z.object({
          fileName: z.string().optional(),
          path: z.string().optional(),
          code: z.string(),
          reason: z.string(),
        }),
      )
      .optional(),
    requestId: z.string().optional(),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details.' });

export const Readiness = z
  .object({ status: z.enum(['ready']), checks: z.record(z.string(), z.string()) })
  .meta({ id: 'Readiness' });

export type DatasetJson = z.output<typeof Dataset>;
export type ActiveLearningSettingsJson = z.output<typeof ActiveLearningSettings>;
export type DatasetStatisticsJson = z.output<typeof DatasetStatistics>;
export type DatasetWithStatisticsJson = z.output<typeof DatasetWithStatistics>;
export type ItemJson = z.output<typeof Item>;
export type LabelJson = z.output<typeof Label>;
export type LabelEventJson = z.output<typeof LabelEvent>;
export type FileErrorJson = z.output<typeof FileError>;
export type UploadResultJson = z.output<typeof UploadResult>;
export type ImportJson = z.output<typeof Import>;
export type ApiKeyJson = z.output<typeof ApiKey>;
export type Role = (typeof roles)[number];
export type ItemStatusName = (typeof itemStatuses)[number];
export type SplitName = (typeof splits)[number];
export type LabelSourceName = (typeof labelSources)[number];
export type ExportFormatName = (typeof exportFormats)[number];
