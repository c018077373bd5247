import { commonV1, datasetV1 } from '@labelloop/proto';
import { InvalidArgumentError } from '@labelloop/common';
import type { ImportStatus, ItemStatus, LabelSource, Split } from '../domain/types.js';

// Proto enums ↔ domain strings. UNSPECIFIED maps to undefined ("no filter" / "not set").

const splitToProtoMap: Record<Split, commonV1.Split> = {
  train: commonV1.Split.SPLIT_TRAIN,
  validation: commonV1.Split.SPLIT_VALIDATION,
  test: commonV1.Split.SPLIT_TEST,
};

export function splitToProto(split: Split | null): commonV1.Split {
  return split === null ? commonV1.Split.SPLIT_UNSPECIFIED : splitToProtoMap[split];
}

export function splitFromProto(split: commonV1.Split): Split | undefined {
  switch (split) {
    case commonV1.Split.SPLIT_UNSPECIFIED:
      return undefined;
    case commonV1.Split.SPLIT_TRAIN:
      return 'train';
    case commonV1.Split.SPLIT_VALIDATION:
      return 'validation';
    case commonV1.Split.SPLIT_TEST:
      return 'test';
    default:
      throw new InvalidArgumentError(`unknown split ${split}`);
  }
}

const sourceToProtoMap: Record<LabelSource, commonV1.LabelSource> = {
  human: commonV1.LabelSource.LABEL_SOURCE_HUMAN,
  model: commonV1.LabelSource.LABEL_SOURCE_MODEL,
  import: commonV1.LabelSource.LABEL_SOURCE_IMPORT,
};

export function sourceToProto(source: LabelSource): commonV1.LabelSource {
  return sourceToProtoMap[source];
}

export function sourceFromProto(source: commonV1.LabelSource): LabelSource | undefined {
  switch (source) {
    case commonV1.LabelSource.LABEL_SOURCE_UNSPECIFIED:
      return undefined;
    case commonV1.LabelSource.LABEL_SOURCE_HUMAN:
      return 'human';
    case commonV1.LabelSource.LABEL_SOURCE_MODEL:
      return 'model';
    case commonV1.LabelSource.LABEL_SOURCE_IMPORT:
      return 'import';
    default:
      throw new InvalidArgumentError(`unknown label source ${source}`);
  }
}

export function statusFromProto(status: datasetV1.ItemStatus): ItemStatus | undefined {
  switch (status) {
    case datasetV1.ItemStatus.ITEM_STATUS_UNSPECIFIED:
      return undefined;
    case datasetV1.ItemStatus.ITEM_STATUS_UNLABELLED:
      return 'unlabelled';
    case datasetV1.ItemStatus.ITEM_STATUS_LABELLED:
      return 'labelled';
    default:
      throw new InvalidArgumentError(`unknown item status ${status}`);
  }
}

const importStatusMap: Record<ImportStatus, datasetV1.ImportStatus> = {
  PENDING: datasetV1.ImportStatus.IMPORT_STATUS_PENDING,
  RUNNING: datasetV1.ImportStatus.IMPORT_STATUS_RUNNING,
  SUCCEEDED: datasetV1.ImportStatus.IMPORT_STATUS_SUCCEEDED,
  FAILED: datasetV1.ImportStatus.IMPORT_STATUS_FAILED,
};

export function importStatusToProto(status: ImportStatus): datasetV1.ImportStatus {
  return importStatusMap[status];
}
