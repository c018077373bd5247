// The dataset service's own model, independent of protobuf, SQL and S3. grpc/ converts these to
// and from the wire types; adapters/ to and from rows.

export const SPLITS = ['train', 'validation', 'test'] as const;
export type Split = (typeof SPLITS)[number];

export const LABEL_SOURCES = ['human', 'model', 'import'] as const;
export type LabelSource = (typeof LABEL_SOURCES)[number];

/** excluded: a reviewer said "not in classes"; the item has no label and stays out of the pool. */
export type ItemStatus = 'unlabelled' | 'labelled' | 'excluded';

export interface ImageSpec {
  width: number;
  height: number;
  channels: number;
}

export interface SplitRatios {
  train: number;
  validation: number;
  test: number;
}

export interface Dataset {
  id: string;
  /** Listing order (keyset pagination). */
  seq: number;
  name: string;
  /** Ordered: a class's index is its model output index. */
  classes: string[];
  image: ImageSpec;
  splits: SplitRatios;
  activeLearning: ActiveLearningSettings;
  createdAt: Date;
  /** Set while soft-deleted (restorable until the retention ends, then purged). */
  deletedAt: Date | null;
}

export const ACQUISITION_STRATEGIES = ['random', 'least_confidence', 'margin', 'entropy', 'bald'] as const;
export type AcquisitionStrategy = (typeof ACQUISITION_STRATEGIES)[number];
export const DIVERSITIES = ['none', 'k_center'] as const;
export type Diversity = (typeof DIVERSITIES)[number];

/** How a dataset's pool is scored, auto-labelled, audited and queued for review. */
export interface ActiveLearningSettings {
  /** ε: the largest error auto-labels may have. */
  targetError: number;
  /** 1 − δ: the confidence with which the error bound must hold. */
  confidence: number;
  strategy: AcquisitionStrategy;
  diversity: Diversity;
  /** MC-dropout passes for BALD. */
  mcSamples: number;
  auditShare: number;
  auditMinimum: number;
  leaseSeconds: number;
  autoLabel: boolean;
  /** Multiplies ε when thresholds are chosen; halved each time an audit fails (not user-settable). */
  errorScale: number;
}

export interface DatasetStatistics {
  totalItems: number;
  byStatus: Record<ItemStatus, number>;
  bySplit: Record<Split | 'unassigned', number>;
  byClass: Record<string, number>;
  bySource: Record<LabelSource, number>;
}

export interface CurrentLabel {
  value: string;
  source: LabelSource;
  actor: string;
  confidence: number | null;
  modelVersion: string;
  labeledAt: Date;
}

export interface Item {
  id: string;
  /** Listing order (keyset pagination). */
  seq: number;
  datasetId: string;
  sha256: string;
  fileName: string;
  width: number;
  height: number;
  format: string;
  sizeBytes: number;
  split: Split | null;
  label: CurrentLabel | null;
  /** 0 while never labelled; +1 per label change. */
  labelVersion: number;
  /** The import that created the item, if any. */
  importId: string | null;
  /** Set when a reviewer answered "not in classes": never labelled, scored or trained on. */
  excludedAt: Date | null;
  createdAt: Date;
}

export interface LabelEvent {
  id: string;
  itemId: string;
  /** '' when the label was removed. */
  value: string;
  source: LabelSource;
  actor: string;
  confidence: number | null;
  modelVersion: string;
  version: number;
  createdAt: Date;
}

/** A label someone wants an item to have. */
export interface LabelRequest {
  value: string;
  source: LabelSource;
  actor: string;
  confidence: number | null;
  modelVersion: string;
  /** Apply only if the item's label_version still equals this. */
  expectedVersion?: number;
  /** Import entries under train/ validation/ test/ keep that split. */
  split?: Split;
}

/** A file refused on its own (the rest of an upload or import goes on). */
export interface FileError {
  fileName: string;
  code: string;
  reason: string;
}

export type ImportStatus = 'PENDING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED';

export interface ImportCounts {
  total: number;
  processed: number;
  created: number;
  duplicates: number;
  rejected: number;
}

export interface ImportRecord extends ImportCounts {
  id: string;
  datasetId: string;
  fileName: string;
  status: ImportStatus;
  addMissingClasses: boolean;
  actor: string;
  errors: FileError[];
  failureReason: string;
  addedClasses: string[];
  createdAt: Date;
  finishedAt: Date | null;
}

export type UploadOutcome = 'created' | 'duplicate' | 'rejected';

/** Removing an item's label (history row with an empty value). */
export interface LabelRemoval {
  /** Who removed it: a reviewer's name, or 'model:v<version>' when a newer scoring withdrew it. */
  actor: string;
  /** Recorded on the history row: human for reviewers, model for scoring. */
  source: LabelSource;
}
