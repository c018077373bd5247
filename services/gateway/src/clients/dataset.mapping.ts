// proto ↔ JSON for the dataset service: enums become lowercase strings, unset optionals
// become null, timestamps RFC 3339 strings. Generated types stay in clients/.
import { commonV1, datasetV1 } from '@labelloop/proto';
import type {
  ActiveLearningSettingsJson,
  DatasetJson,
  DatasetStatisticsJson,
  ExportFormatName,
  FileErrorJson,
  ImportJson,
  ItemJson,
  ItemStatusName,
  LabelEventJson,
  LabelJson,
  LabelSourceName,
  SplitName,
} from '../openapi/schemas.js';

const { Split, LabelSource } = commonV1;
const { ItemStatus, ImportStatus, ExportFormat } = datasetV1;

/** A two-way table between a proto enum and its JSON names (UNSPECIFIED ↔ null). */
function enumMapping<P extends number, J extends string>(pairs: ReadonlyArray<readonly [P, J]>) {
  const toJson = new Map<number, J>(pairs);
  const toProto = new Map<string, P>(pairs.map(([p, j]) => [j, p]));
  return {
    json: (value: P): J | null => toJson.get(value) ?? null,
    proto: (name: J): P => toProto.get(name)!,
  };
}

export const itemStatusEnum = enumMapping<datasetV1.ItemStatus, ItemStatusName>([
  [ItemStatus.ITEM_STATUS_UNLABELLED, 'unlabelled'],
  [ItemStatus.ITEM_STATUS_LABELLED, 'labelled'],
  [ItemStatus.ITEM_STATUS_EXCLUDED, 'excluded'],
]);

export const acquisitionStrategyEnum = enumMapping<datasetV1.AcquisitionStrategy, ActiveLearningSettingsJson['strategy']>([
  [datasetV1.AcquisitionStrategy.ACQUISITION_STRATEGY_RANDOM, 'random'],
  [datasetV1.AcquisitionStrategy.ACQUISITION_STRATEGY_LEAST_CONFIDENCE, 'least_confidence'],
  [datasetV1.AcquisitionStrategy.ACQUISITION_STRATEGY_MARGIN, 'margin'],
  [datasetV1.AcquisitionStrategy.ACQUISITION_STRATEGY_ENTROPY, 'entropy'],
  [datasetV1.AcquisitionStrategy.ACQUISITION_STRATEGY_BALD, 'bald'],
]);

export const diversityEnum = enumMapping<datasetV1.Diversity, ActiveLearningSettingsJson['diversity']>([
  [datasetV1.Diversity.DIVERSITY_NONE, 'none'],
  [datasetV1.Diversity.DIVERSITY_K_CENTER, 'k_center'],
]);

export const splitEnum = enumMapping<commonV1.Split, SplitName>([
  [Split.SPLIT_TRAIN, 'train'],
  [Split.SPLIT_VALIDATION, 'validation'],
  [Split.SPLIT_TEST, 'test'],
]);

export const labelSourceEnum = enumMapping<commonV1.LabelSource, LabelSourceName>([
  [LabelSource.LABEL_SOURCE_HUMAN, 'human'],
  [LabelSource.LABEL_SOURCE_MODEL, 'model'],
  [LabelSource.LABEL_SOURCE_IMPORT, 'import'],
]);

export const exportFormatEnum = enumMapping<datasetV1.ExportFormat, ExportFormatName>([
  [ExportFormat.EXPORT_FORMAT_ZIP, 'zip'],
  [ExportFormat.EXPORT_FORMAT_CSV, 'csv'],
  [ExportFormat.EXPORT_FORMAT_JSONL, 'jsonl'],
]);

const importStatusEnum = enumMapping<datasetV1.ImportStatus, ImportJson['status']>([
  [ImportStatus.IMPORT_STATUS_PENDING, 'pending'],
  [ImportStatus.IMPORT_STATUS_RUNNING, 'running'],
  [ImportStatus.IMPORT_STATUS_SUCCEEDED, 'succeeded'],
  [ImportStatus.IMPORT_STATUS_FAILED, 'failed'],
]);

function iso(date: Date | undefined): string | null {
  return date ? date.toISOString() : null;
}

/** A field the dataset service always sets; its absence is a contract violation. */
function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`dataset service response lacks ${what}`);
  return value;
}

function sourceName(source: commonV1.LabelSource): LabelSourceName {
  return required(labelSourceEnum.json(source) ?? undefined, `a label source (got ${source})`);
}

export function datasetToJson(dataset: datasetV1.Dataset): DatasetJson {
  const image = required(dataset.image, 'dataset.image');
  const splits = required(dataset.splits, 'dataset.splits');
  return {
    id: dataset.id,
    name: dataset.name,
    classes: dataset.classes,
    image: { width: image.width, height: image.height, channels: image.channels },
    splits: { train: splits.train, validation: splits.validation, test: splits.test },
    createdAt: required(iso(dataset.createdAt) ?? undefined, 'dataset.createdAt'),
    activeLearning: settingsToJson(required(dataset.activeLearning, 'dataset.activeLearning')),
    ...(dataset.deletedAt ? { deletedAt: iso(dataset.deletedAt)! } : {}),
    ...(dataset.purgeAfter ? { purgeAfter: iso(dataset.purgeAfter)! } : {}),
  };
}

export function settingsToJson(s: datasetV1.ActiveLearningSettings): ActiveLearningSettingsJson {
  const field = <T>(value: T | undefined, name: string): T => required(value, `dataset.activeLearning.${name}`);
  return {
    targetError: field(s.targetError, 'targetError'),
    confidence: field(s.confidence, 'confidence'),
    strategy: required(acquisitionStrategyEnum.json(s.strategy) ?? undefined, `a strategy (got ${s.strategy})`),
    diversity: required(diversityEnum.json(s.diversity) ?? undefined, `a diversity (got ${s.diversity})`),
    mcSamples: field(s.mcSamples, 'mcSamples'),
    auditShare: field(s.auditShare, 'auditShare'),
    auditMinimum: field(s.auditMinimum, 'auditMinimum'),
    leaseSeconds: field(s.leaseSeconds, 'leaseSeconds'),
    autoLabel: field(s.autoLabel, 'autoLabel'),
  };
}

/** Partial settings from a request → the proto message, where an unset field means "the default". */
export function settingsToProto(s: Partial<ActiveLearningSettingsJson>): datasetV1.ActiveLearningSettings {
  return {
    targetError: s.targetError,
    confidence: s.confidence,
    strategy: s.strategy ? acquisitionStrategyEnum.proto(s.strategy) : datasetV1.AcquisitionStrategy.ACQUISITION_STRATEGY_UNSPECIFIED,
    diversity: s.diversity ? diversityEnum.proto(s.diversity) : datasetV1.Diversity.DIVERSITY_UNSPECIFIED,
    mcSamples: s.mcSamples,
    auditShare: s.auditShare,
    auditMinimum: s.auditMinimum,
    leaseSeconds: s.leaseSeconds,
    autoLabel: s.autoLabel,
  };
}

export function statisticsToJson(stats: datasetV1.DatasetStatistics | undefined): DatasetStatisticsJson {
  return {
    totalItems: stats?.totalItems ?? 0,
    byStatus: { ...stats?.byStatus },
    bySplit: { ...stats?.bySplit },
    byClass: { ...stats?.byClass },
    bySource: { ...stats?.bySource },
  };
}

function labelToJson(label: datasetV1.Label): LabelJson {
  return {
    value: label.value,
    source: sourceName(label.source),
    actor: label.actor,
    confidence: label.confidence ?? null,
    modelVersion: label.modelVersion || null,
    labeledAt: iso(label.labeledAt),
  };
}

export function itemToJson(item: datasetV1.Item): ItemJson {
  return {
    id: item.id,
    datasetId: item.datasetId,
    sha256: item.sha256,
    fileName: item.fileName,
    width: item.width,
    height: item.height,
    format: item.format,
    sizeBytes: item.sizeBytes,
    status: required(itemStatusEnum.json(item.status) ?? undefined, `an item status (got ${item.status})`),
    split: splitEnum.json(item.split),
    label: item.label ? labelToJson(item.label) : null,
    labelVersion: item.labelVersion,
    createdAt: required(iso(item.createdAt) ?? undefined, 'item.createdAt'),
  };
}

export function labelEventToJson(event: datasetV1.LabelEvent): LabelEventJson {
  return {
    id: event.id,
    itemId: event.itemId,
    value: event.value || null,
    source: sourceName(event.source),
    actor: event.actor,
    confidence: event.confidence ?? null,
    modelVersion: event.modelVersion || null,
    version: event.version,
    createdAt: required(iso(event.createdAt) ?? undefined, 'labelEvent.createdAt'),
  };
}

export function fileErrorToJson(error: datasetV1.FileError): FileErrorJson {
  return { fileName: error.fileName, code: error.code, reason: error.reason };
}

export function importToJson(job: datasetV1.Import): ImportJson {
  return {
    id: job.id,
    datasetId: job.datasetId,
    fileName: job.fileName,
    status: required(importStatusEnum.json(job.status) ?? undefined, `an import status (got ${job.status})`),
    total: job.total,
    processed: job.processed,
    created: job.created,
    duplicates: job.duplicates,
    rejected: job.rejected,
    errors: job.errors.map(fileErrorToJson),
    failureReason: job.failureReason || null,
    addedClasses: job.addedClasses,
    createdAt: required(iso(job.createdAt) ?? undefined, 'import.createdAt'),
    finishedAt: iso(job.finishedAt),
  };
}
