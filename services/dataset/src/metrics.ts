import { counterOn, type Registry } from '@labelloop/common';
import type { LabelSource, UploadOutcome } from './domain/types.js';

// The dataset service's own metrics, declared in one place (labelloop_<thing>_<unit>).
// Labels stay low-cardinality: no dataset or item ids.

export const ITEMS_INGESTED_TOTAL = 'labelloop_items_ingested_total';
export const LABELS_TOTAL = 'labelloop_labels_total';
export const IMPORT_ITEMS_TOTAL = 'labelloop_import_items_total';
export const EXPORT_ITEMS_TOTAL = 'labelloop_export_items_total';

export interface DatasetMetrics {
  itemIngested(outcome: UploadOutcome): void;
  labelApplied(source: LabelSource): void;
  importItem(outcome: UploadOutcome): void;
  exportItems(format: string, count: number): void;
}

export function createDatasetMetrics(registry: Registry): DatasetMetrics {
  const ingested = counterOn(
    registry,
    ITEMS_INGESTED_TOTAL,
    'Images through the ingest path (uploads and import entries), by outcome',
    ['outcome'],
  );
  const labels = counterOn(registry, LABELS_TOTAL, 'Label changes committed, by label source', ['source']);
  const importItems = counterOn(registry, IMPORT_ITEMS_TOTAL, 'Import archive entries processed, by outcome', [
    'outcome',
  ]);
  const exported = counterOn(registry, EXPORT_ITEMS_TOTAL, 'Items written to exports, by format', ['format']);
  return {
    itemIngested: (outcome) => ingested.inc({ outcome }),
    labelApplied: (source) => labels.inc({ source }),
    importItem: (outcome) => importItems.inc({ outcome }),
    exportItems: (format, count) => exported.inc({ format }, count),
  };
}
