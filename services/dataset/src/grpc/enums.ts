import { commonV1, datasetV1 } from '@labelloop/proto';
import { InvalidArgumentError } from '@labelloop/common';
import type { ScoringKind, ScoringStatus } from '../domain/scoring/types.js';
import {
  ACQUISITION_STRATEGIES,
  DIVERSITIES,
  type AcquisitionStrategy,
  type Diversity,
  type ImportStatus,
  type ItemStatus,
  type LabelSource,
  type Split,
} from '../domain/types.js';

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
    case datasetV1.ItemStatus.ITEM_STATUS_EXCLUDED:
      return 'excluded';
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

const strategyMap: Record<AcquisitionStrategy, datasetV1.AcquisitionStrategy> = {
  random: datasetV1.AcquisitionStrategy.ACQUISITION_STRATEGY_RANDOM,
  least_confidence: datasetV1.AcquisitionStrategy.ACQUISITION_STRATEGY_LEAST_CONFIDENCE,
  margin: datasetV1.AcquisitionStrategy.ACQUISITION_STRATEGY_MARGIN,
  entropy: datasetV1.AcquisitionStrategy.ACQUISITION_STRATEGY_ENTROPY,
  bald: datasetV1.AcquisitionStrategy.ACQUISITION_STRATEGY_BALD,
};

export function strategyToProto(strategy: AcquisitionStrategy): datasetV1.AcquisitionStrategy {
  return strategyMap[strategy];
}

/** UNSPECIFIED → undefined (the default applies). */
export function strategyFromProto(strategy: datasetV1.AcquisitionStrategy): AcquisitionStrategy | undefined {
  if (strategy === datasetV1.AcquisitionStrategy.ACQUISITION_STRATEGY_UNSPECIFIED) return undefined;
  const found = ACQUISITION_STRATEGIES.find((name) => strategyMap[name] === strategy);
  if (!found) throw new InvalidArgumentError(`unknown acquisition strategy ${strategy}`, { field: 'strategy' });
  return found;
}

const diversityMap: Record<Diversity, datasetV1.Diversity> = {
  none: datasetV1.Diversity.DIVERSITY_NONE,
  k_center: datasetV1.Diversity.DIVERSITY_K_CENTER,
};

export function diversityToProto(diversity: Diversity): datasetV1.Diversity {
  return diversityMap[diversity];
}

/** UNSPECIFIED → undefined (the default applies). */
export function diversityFromProto(diversity: datasetV1.Diversity): Diversity | undefined {
  if (diversity === datasetV1.Diversity.DIVERSITY_UNSPECIFIED) return undefined;
  const found = DIVERSITIES.find((name) => diversityMap[name] === diversity);
  if (!found) throw new InvalidArgumentError(`unknown diversity ${diversity}`, { field: 'diversity' });
  return found;
}

const scoringStatusMap: Record<ScoringStatus, datasetV1.ScoringStatus> = {
  RUNNING: datasetV1.ScoringStatus.SCORING_STATUS_RUNNING,
  FINALIZING: datasetV1.ScoringStatus.SCORING_STATUS_FINALIZING,
  SUCCEEDED: datasetV1.ScoringStatus.SCORING_STATUS_SUCCEEDED,
  SUPERSEDED: datasetV1.ScoringStatus.SCORING_STATUS_SUPERSEDED,
  FAILED: datasetV1.ScoringStatus.SCORING_STATUS_FAILED,
};

export function scoringStatusToProto(status: ScoringStatus): datasetV1.ScoringStatus {
  return scoringStatusMap[status];
}

const scoringKindMap: Record<ScoringKind, datasetV1.ScoringKind> = {
  pool: datasetV1.ScoringKind.SCORING_KIND_POOL,
  calibration: datasetV1.ScoringKind.SCORING_KIND_CALIBRATION,
  labelled: datasetV1.ScoringKind.SCORING_KIND_LABELLED,
};

export function scoringKindToProto(kind: ScoringKind): datasetV1.ScoringKind {
  return scoringKindMap[kind];
}
