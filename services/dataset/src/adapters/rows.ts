import type {
  AcquisitionStrategy,
  CurrentLabel,
  Dataset,
  Diversity,
  FileError,
  ImportRecord,
  ImportStatus,
  Item,
  LabelEvent,
  LabelSource,
  Split,
} from '../domain/types.js';

// Row shapes of the dataset schema and their conversion to domain values. int8 columns
// arrive as numbers (libs/storage installs that parser on both drivers).

export const SCHEMA = 'dataset';

export interface DatasetRow {
  id: string;
  seq: number;
  name: string;
  classes: string[];
  image_width: number;
  image_height: number;
  image_channels: number;
  ratio_train: number;
  ratio_validation: number;
  ratio_test: number;
  al_target_error: number;
  al_confidence: number;
  al_strategy: AcquisitionStrategy;
  al_diversity: Diversity;
  al_mc_samples: number;
  al_audit_share: number;
  al_audit_minimum: number;
  al_lease_seconds: number;
  al_auto_label: boolean;
  al_error_scale: number;
  created_at: Date;
  deleted_at: Date | null;
}

export const DATASET_COLUMNS =
  'id, seq, name, classes, image_width, image_height, image_channels, ratio_train, ratio_validation, ratio_test, ' +
  'al_target_error, al_confidence, al_strategy, al_diversity, al_mc_samples, al_audit_share, al_audit_minimum, ' +
  'al_lease_seconds, al_auto_label, al_error_scale, created_at, deleted_at';

export function datasetFromRow(row: DatasetRow): Dataset {
  return {
    id: row.id,
    seq: row.seq,
    name: row.name,
    classes: row.classes,
    image: { width: row.image_width, height: row.image_height, channels: row.image_channels },
    splits: { train: row.ratio_train, validation: row.ratio_validation, test: row.ratio_test },
    activeLearning: {
      targetError: row.al_target_error,
      confidence: row.al_confidence,
      strategy: row.al_strategy,
      diversity: row.al_diversity,
      mcSamples: row.al_mc_samples,
      auditShare: row.al_audit_share,
      auditMinimum: row.al_audit_minimum,
      leaseSeconds: row.al_lease_seconds,
      autoLabel: row.al_auto_label,
      errorScale: row.al_error_scale,
    },
    createdAt: row.created_at,
    deletedAt: row.deleted_at,
  };
}

export interface ItemRow {
  id: string;
  seq: number;
  dataset_id: string;
  sha256: string;
  file_name: string;
  width: number;
  height: number;
  format: string;
  size_bytes: number;
  split: Split | null;
  label: string | null;
  label_source: LabelSource | null;
  label_actor: string | null;
  label_confidence: number | null;
  label_model_version: string | null;
  labeled_at: Date | null;
  label_version: number;
  import_id: string | null;
  excluded_at: Date | null;
  created_at: Date;
}

export const ITEM_COLUMNS =
  'id, seq, dataset_id, sha256, file_name, width, height, format, size_bytes, split, label, label_source, ' +
  'label_actor, label_confidence, label_model_version, labeled_at, label_version, import_id, excluded_at, created_at';

export function itemFromRow(row: ItemRow): Item {
  const label: CurrentLabel | null =
    row.label === null || row.label_source === null
      ? null
      : {
          value: row.label,
          source: row.label_source,
          actor: row.label_actor ?? '',
          confidence: row.label_confidence,
          modelVersion: row.label_model_version ?? '',
          labeledAt: row.labeled_at ?? row.created_at,
        };
  return {
    id: row.id,
    seq: row.seq,
    datasetId: row.dataset_id,
    sha256: row.sha256,
    fileName: row.file_name,
    width: row.width,
    height: row.height,
    format: row.format,
    sizeBytes: row.size_bytes,
    split: row.split,
    label,
    labelVersion: row.label_version,
    importId: row.import_id,
    excludedAt: row.excluded_at,
    createdAt: row.created_at,
  };
}

export interface LabelRow {
  id: string;
  item_id: string;
  value: string;
  source: LabelSource;
  actor: string;
  confidence: number | null;
  model_version: string;
  version: number;
  created_at: Date;
}

export function labelEventFromRow(row: LabelRow): LabelEvent {
  return {
    id: row.id,
    itemId: row.item_id,
    value: row.value,
    source: row.source,
    actor: row.actor,
    confidence: row.confidence,
    modelVersion: row.model_version,
    version: row.version,
    createdAt: row.created_at,
  };
}

export interface ImportRow {
  id: string;
  dataset_id: string;
  file_name: string;
  status: ImportStatus;
  add_missing_classes: boolean;
  actor: string;
  archive_key: string;
  total: number;
  processed: number;
  created: number;
  duplicates: number;
  rejected: number;
  errors: FileError[];
  failure_reason: string;
  added_classes: string[];
  created_at: Date;
  finished_at: Date | null;
}

export function importFromRow(row: ImportRow): ImportRecord {
  return {
    id: row.id,
    datasetId: row.dataset_id,
    fileName: row.file_name,
    status: row.status,
    addMissingClasses: row.add_missing_classes,
    actor: row.actor,
    total: row.total,
    processed: row.processed,
    created: row.created,
    duplicates: row.duplicates,
    rejected: row.rejected,
    errors: row.errors,
    failureReason: row.failure_reason,
    addedClasses: row.added_classes,
    createdAt: row.created_at,
    finishedAt: row.finished_at,
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids are uuids; anything else would be a SQL cast error, so it is refused up front. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
