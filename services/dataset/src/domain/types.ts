// The dataset service's own model, independent of protobuf, SQL and S3. grpc/ converts these to
// and from the wire types; adapters/ to and from rows.

export const SPLITS = ['train', 'validation', 'test'] as const;
export type Split = (typeof SPLITS)[number];

export const LABEL_SOURCES = ['human', 'model', 'import'] as const;
export type LabelSource = (typeof LABEL_SOURCES)[number];

export type ItemStatus = 'unlabelled' | 'labelled';

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
  createdAt: Date;
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
  createdAt: Date;
}

export interface LabelEvent {
  id: string;
  itemId: string;
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
