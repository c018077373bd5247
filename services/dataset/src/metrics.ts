import { counterOn, type Registry } from '@labelloop/common';
import { Gauge } from 'prom-client';
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

// Review queue and audits: gauges whose values are read from the database when /metrics is
// scraped, so they are right after a restart and on every replica.

export const AUTOLABEL_AUDITED_ERROR_RATIO = 'labelloop_autolabel_audited_error_ratio';
export const REVIEW_QUEUE_DEPTH = 'labelloop_review_queue_depth';
export const AUTOLABEL_LABELS_SAVED = 'labelloop_autolabel_labels_saved';

export interface ReviewGaugeSource {
  queue: Array<{ datasetId: string; reason: string; n: number }>;
  audits: Array<{ datasetId: string; modelVersion: number; estimate: number; lower: number; upper: number }>;
  /** The report's estimated human labels saved, per dataset. */
  saved: Array<{ datasetId: string; n: number }>;
}

/**
 * Registers labelloop_review_queue_depth {dataset_id, reason} and
 * labelloop_autolabel_audited_error_ratio {dataset_id, model_version, bound=estimate|lower|upper}.
 * A failed read (database gone during shutdown) leaves the last values and reports through onError.
 */
export function registerReviewGauges(
  registry: Registry,
  read: () => Promise<ReviewGaugeSource>,
  onError: (err: unknown) => void = () => {},
): void {
  // One read serves both gauges of a scrape.
  let pending: Promise<ReviewGaugeSource | undefined> | undefined;
  const snapshot = () => {
    pending ??= read()
      .catch((err: unknown) => {
        onError(err);
        return undefined;
      })
      .finally(() => setTimeout(() => (pending = undefined), 0));
    return pending;
  };
  if (!registry.getSingleMetric(REVIEW_QUEUE_DEPTH)) {
    new Gauge({
      name: REVIEW_QUEUE_DEPTH,
      help: 'Open review tasks, by dataset and reason (uncertain, audit, suspected_label_error)',
      labelNames: ['dataset_id', 'reason'],
      registers: [registry],
      async collect() {
        const values = await snapshot();
        if (!values) return;
        this.reset();
        for (const row of values.queue) this.set({ dataset_id: row.datasetId, reason: row.reason }, row.n);
      },
    });
  }
  if (!registry.getSingleMetric(AUTOLABEL_LABELS_SAVED)) {
    new Gauge({
      name: AUTOLABEL_LABELS_SAVED,
      help: 'Estimated human labels saved against random-order labelling (the report figure), per dataset',
      labelNames: ['dataset_id'],
      registers: [registry],
      async collect() {
        const values = await snapshot();
        if (!values) return;
        this.reset();
        for (const row of values.saved) this.set({ dataset_id: row.datasetId }, row.n);
      },
    });
  }
  if (!registry.getSingleMetric(AUTOLABEL_AUDITED_ERROR_RATIO)) {
    new Gauge({
      name: AUTOLABEL_AUDITED_ERROR_RATIO,
      help: 'Error of auto-labels found by blind audits, per model version: estimate and two-sided Clopper-Pearson bounds',
      labelNames: ['dataset_id', 'model_version', 'bound'],
      registers: [registry],
      async collect() {
        const values = await snapshot();
        if (!values) return;
        this.reset();
        for (const row of values.audits) {
          const labels = { dataset_id: row.datasetId, model_version: String(row.modelVersion) };
          this.set({ ...labels, bound: 'estimate' }, row.estimate);
          this.set({ ...labels, bound: 'lower' }, row.lower);
          this.set({ ...labels, bound: 'upper' }, row.upper);
        }
      },
    });
  }
}

// Auto-label coverage and target: gauges read from the database when /metrics is scraped.

export const AUTOLABEL_COVERAGE_RATIO = 'labelloop_autolabel_coverage_ratio';
export const AUTOLABEL_TARGET_ERROR_RATIO = 'labelloop_autolabel_target_error_ratio';

export interface ScoringGaugeSource {
  coverage(): Promise<Array<{ datasetId: string; modelVersion: number; poolItems: number; autoLabelled: number }>>;
  targetErrors(): Promise<Array<{ datasetId: string; targetError: number }>>;
}

/**
 * Registers labelloop_autolabel_coverage_ratio {dataset_id, model_version} (auto-labelled / pool
 * items when the version's scoring was finalized) and labelloop_autolabel_target_error_ratio
 * {dataset_id} (the dataset's ε). A failed read leaves the last values and reports through onError.
 */
export function registerScoringGauges(
  registry: Registry,
  source: ScoringGaugeSource,
  onError: (err: unknown) => void = () => {},
): void {
  if (!registry.getSingleMetric(AUTOLABEL_COVERAGE_RATIO)) {
    new Gauge({
      name: AUTOLABEL_COVERAGE_RATIO,
      help: 'Share of the pool auto-labelled by each model version when its scoring was finalized',
      labelNames: ['dataset_id', 'model_version'],
      registers: [registry],
      async collect() {
        const rows = await source.coverage().catch((err: unknown) => void onError(err));
        if (!rows) return;
        this.reset();
        for (const row of rows) {
          const ratio = row.poolItems > 0 ? row.autoLabelled / row.poolItems : 0;
          this.set({ dataset_id: row.datasetId, model_version: String(row.modelVersion) }, ratio);
        }
      },
    });
  }
  if (!registry.getSingleMetric(AUTOLABEL_TARGET_ERROR_RATIO)) {
    new Gauge({
      name: AUTOLABEL_TARGET_ERROR_RATIO,
      help: "The dataset's target error ε for auto-labels",
      labelNames: ['dataset_id'],
      registers: [registry],
      async collect() {
        const rows = await source.targetErrors().catch((err: unknown) => void onError(err));
        if (!rows) return;
        this.reset();
        for (const row of rows) this.set({ dataset_id: row.datasetId }, row.targetError);
      },
    });
  }
}
