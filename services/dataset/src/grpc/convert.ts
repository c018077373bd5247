import { datasetV1 } from '@labelloop/proto';
import type { ActiveLearningInput } from '../domain/active-learning-settings.js';
import type {
  ActiveLearningSettings,
  Dataset,
  DatasetStatistics,
  FileError,
  ImportRecord,
  Item,
  LabelEvent,
} from '../domain/types.js';
import {
  diversityFromProto,
  diversityToProto,
  importStatusToProto,
  sourceToProto,
  splitToProto,
  strategyFromProto,
  strategyToProto,
} from './enums.js';

// Domain values → protobuf messages.

/** `retentionMs` gives a deleted dataset its purge_after. */
export function datasetToProto(dataset: Dataset, retentionMs?: number): datasetV1.Dataset {
  const deleted =
    dataset.deletedAt === null
      ? {}
      : {
          deletedAt: dataset.deletedAt,
          ...(retentionMs === undefined ? {} : { purgeAfter: new Date(dataset.deletedAt.getTime() + retentionMs) }),
        };
  return {
    id: dataset.id,
    name: dataset.name,
    classes: dataset.classes,
    image: { ...dataset.image },
    splits: { ...dataset.splits },
    createdAt: dataset.createdAt,
    activeLearning: activeLearningToProto(dataset.activeLearning),
    ...deleted,
  };
}

export function activeLearningToProto(settings: ActiveLearningSettings): datasetV1.ActiveLearningSettings {
  return {
    targetError: settings.targetError,
    confidence: settings.confidence,
    strategy: strategyToProto(settings.strategy),
    diversity: diversityToProto(settings.diversity),
    mcSamples: settings.mcSamples,
    auditShare: settings.auditShare,
    auditMinimum: settings.auditMinimum,
    leaseSeconds: settings.leaseSeconds,
    autoLabel: settings.autoLabel,
  };
}

/** Unset fields (and UNSPECIFIED enums) stay undefined: the defaults apply. */
export function activeLearningFromProto(
  settings: datasetV1.ActiveLearningSettings | undefined,
): ActiveLearningInput | undefined {
  if (!settings) return undefined;
  return {
    targetError: settings.targetError,
    confidence: settings.confidence,
    strategy: strategyFromProto(settings.strategy),
    diversity: diversityFromProto(settings.diversity),
    mcSamples: settings.mcSamples,
    auditShare: settings.auditShare,
    auditMinimum: settings.auditMinimum,
    leaseSeconds: settings.leaseSeconds,
    autoLabel: settings.autoLabel,
  };
}

export function statisticsToProto(stats: DatasetStatistics): datasetV1.DatasetStatistics {
  return {
    totalItems: stats.totalItems,
    byStatus: { ...stats.byStatus },
    bySplit: { ...stats.bySplit },
    byClass: { ...stats.byClass },
    bySource: { ...stats.bySource },
  };
}

export function itemToProto(item: Item): datasetV1.Item {
  const { label } = item;
  return {
    id: item.id,
    datasetId: item.datasetId,
    sha256: item.sha256,
    fileName: item.fileName,
    width: item.width,
    height: item.height,
    format: item.format,
    sizeBytes: item.sizeBytes,
    status: item.excludedAt
      ? datasetV1.ItemStatus.ITEM_STATUS_EXCLUDED
      : label
        ? datasetV1.ItemStatus.ITEM_STATUS_LABELLED
        : datasetV1.ItemStatus.ITEM_STATUS_UNLABELLED,
    split: splitToProto(item.split),
    label: label
      ? {
          value: label.value,
          source: sourceToProto(label.source),
          actor: label.actor,
          confidence: label.confidence ?? undefined,
          modelVersion: label.modelVersion,
          labeledAt: label.labeledAt,
        }
      : undefined,
    labelVersion: item.labelVersion,
    createdAt: item.createdAt,
  };
}

export function labelEventToProto(event: LabelEvent): datasetV1.LabelEvent {
  return {
    id: event.id,
    itemId: event.itemId,
    value: event.value,
    source: sourceToProto(event.source),
    actor: event.actor,
    confidence: event.confidence ?? undefined,
    modelVersion: event.modelVersion,
    version: event.version,
    createdAt: event.createdAt,
  };
}

export function fileErrorToProto(error: FileError): datasetV1.FileError {
  return { fileName: error.fileName, code: error.code, reason: error.reason };
}

export function importToProto(record: ImportRecord): datasetV1.Import {
  return {
    id: record.id,
    datasetId: record.datasetId,
    fileName: record.fileName,
    status: importStatusToProto(record.status),
    total: record.total,
    processed: record.processed,
    created: record.created,
    duplicates: record.duplicates,
    rejected: record.rejected,
    errors: record.errors.map(fileErrorToProto),
    failureReason: record.failureReason,
    addedClasses: record.addedClasses,
    createdAt: record.createdAt,
    finishedAt: record.finishedAt ?? undefined,
  };
}
