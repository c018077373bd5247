import { counterOn, histogramOn, type Registry } from '@labelloop/common';
import { registerBackendMetric } from '@labelloop/ml';
import { Gauge } from 'prom-client';

// The inference service's Prometheus metrics (Grafana dashboards and the alert rules use these
// names). All are registered at start, so /metrics lists them before any traffic.

export const INFERENCE_IMAGES_TOTAL = 'labelloop_inference_images_total';
export const INFERENCE_PREDICT_SECONDS = 'labelloop_inference_predict_seconds';
export const INFERENCE_MODELS_LOADED = 'labelloop_inference_models_loaded';
export const SCORING_SHARDS_TOTAL = 'labelloop_scoring_shards_total';
export const SCORING_SHARD_SECONDS = 'labelloop_scoring_shard_seconds';

/** How a claimed shard ended. */
export const SHARD_OUTCOMES = ['recorded', 'already_recorded', 'lease_lost', 'failed', 'abandoned'] as const;
export type ShardOutcome = (typeof SHARD_OUTCOMES)[number];

export interface InferenceMetrics {
  images(datasetId: string, kind: 'online' | 'scoring', count: number): void;
  predictSeconds(seconds: number): void;
  modelsLoaded(count: number): void;
  shard(outcome: ShardOutcome, seconds: number): void;
}

export function createInferenceMetrics(registry: Registry): InferenceMetrics {
  registerBackendMetric(registry);
  const images = counterOn(registry, INFERENCE_IMAGES_TOTAL, 'Images predicted, by dataset and kind (online Predict or pool scoring)', ['dataset_id', 'kind'] as const);
  const predict = histogramOn(registry, INFERENCE_PREDICT_SECONDS, 'Duration of online Predict calls (decode + predict)', [] as const, [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
  ]);
  const loaded =
    (registry.getSingleMetric(INFERENCE_MODELS_LOADED) as Gauge | undefined) ??
    new Gauge({ name: INFERENCE_MODELS_LOADED, help: 'Models loaded in the predict workers', registers: [registry] });
  const shards = counterOn(registry, SCORING_SHARDS_TOTAL, 'Scoring shards claimed, by outcome', ['outcome'] as const);
  const shardSeconds = histogramOn(registry, SCORING_SHARD_SECONDS, 'Time from claiming a scoring shard to its outcome', [] as const, [
    0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600,
  ]);
  // Zero series, so rates and alerts work before the first shard.
  for (const outcome of SHARD_OUTCOMES) shards.inc({ outcome }, 0);
  loaded.set(0);
  return {
    images: (datasetId, kind, count) => images.inc({ dataset_id: datasetId, kind }, count),
    predictSeconds: (seconds) => predict.observe(seconds),
    modelsLoaded: (count) => loaded.set(count),
    shard(outcome, seconds) {
      shards.inc({ outcome });
      shardSeconds.observe(seconds);
    },
  };
}
