import { counterOn, histogramOn, type Registry } from '@labelloop/common';
import { registerBackendMetric } from '@labelloop/ml';
import { Gauge } from 'prom-client';
import type { Model } from './domain/types.js';

// The trainer's Prometheus metrics (Grafana dashboards use these names).

export const MODEL_ACCURACY = 'labelloop_model_accuracy';
export const MODEL_MACRO_F1 = 'labelloop_model_macro_f1';
export const MODEL_CLASS_RECALL = 'labelloop_model_class_recall';
export const MODEL_HUMAN_LABELS = 'labelloop_model_human_labels';
export const CHAMPION_VERSION = 'labelloop_champion_version';
export const TRAINING_RUNS_TOTAL = 'labelloop_training_runs_total';
export const TRAINING_RUN_DURATION = 'labelloop_training_run_duration_seconds';
export const TRAINING_IMAGES_PER_SECOND = 'labelloop_training_images_per_second';

function gaugeOn<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[]): Gauge<L> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Gauge<L>;
  return new Gauge({ name, help, labelNames, registers: [registry] });
}

export interface TrainerMetrics {
  /** Gauges of one model's test and validation metrics. */
  model(m: Model): void;
  champion(datasetId: string, version: number): void;
  runFinished(outcome: 'succeeded' | 'failed' | 'cancelled', seconds: number | undefined): void;
  imagesPerSecond(value: number): void;
}

export function createTrainerMetrics(registry: Registry): TrainerMetrics {
  registerBackendMetric(registry);
  const labels = ['dataset_id', 'model_version', 'split'] as const;
  const accuracy = gaugeOn(registry, MODEL_ACCURACY, 'Model accuracy per split', labels);
  const macroF1 = gaugeOn(registry, MODEL_MACRO_F1, 'Model macro-F1 per split', labels);
  const recall = gaugeOn(registry, MODEL_CLASS_RECALL, 'Model recall per class and split', [...labels, 'class'] as const);
  const humanLabels = gaugeOn(registry, MODEL_HUMAN_LABELS, 'Human labels behind a model version (the learning curve’s x axis)', ['dataset_id', 'model_version'] as const);
  const champion = gaugeOn(registry, CHAMPION_VERSION, 'Version of the dataset champion model', ['dataset_id'] as const);
  const runs = counterOn(registry, TRAINING_RUNS_TOTAL, 'Training runs finished, by outcome', ['outcome'] as const);
  const duration = histogramOn(registry, TRAINING_RUN_DURATION, 'Training run duration', [] as const, [10, 30, 60, 120, 300, 600, 1800, 3600, 7200]);
  const ips = gaugeOn(registry, TRAINING_IMAGES_PER_SECOND, 'Training throughput of the latest batch', [] as const);
  return {
    model(m) {
      humanLabels.set({ dataset_id: m.datasetId, model_version: String(m.version) }, m.humanLabels);
      for (const split of [m.metrics.test, m.metrics.validation]) {
        const l = { dataset_id: m.datasetId, model_version: String(m.version), split: split.split };
        accuracy.set(l, split.accuracy);
        macroF1.set(l, split.macroF1);
        for (const c of split.perClass) recall.set({ ...l, class: c.className }, c.recall);
      }
    },
    champion: (datasetId, version) => champion.set({ dataset_id: datasetId }, version),
    runFinished(outcome, seconds) {
      runs.inc({ outcome });
      if (seconds !== undefined) duration.observe(seconds);
    },
    imagesPerSecond: (value) => ips.set(value),
  };
}
