// @labelloop/inference: the inference service (the process starts from main.ts).
export { createInferenceServer, MAX_MESSAGE_BYTES, type InferenceServer, type InferenceServerDeps } from './server.js';
export { loadConfig, type InferenceConfig } from './config.js';
export { PredictPool, type PredictPoolOptions, type PoolPrediction, type WorkerStats } from './workers/predict-pool.js';
export { ModelRegistry, type ModelLease, type ModelRuntime } from './domain/model-registry.js';
export { ChampionLoader, type ChampionSource } from './domain/champions.js';
export { ScoringLoop, type ScoringQueue, type ItemImages, type ShardResult } from './domain/scoring-loop.js';
export type { LoadedModel, ModelRef, ScoringShard, ItemPrediction } from './domain/types.js';
export { DatasetScoringQueue, type DatasetClient } from './adapters/dataset-scoring.js';
export { TrainerChampionSource, type TrainerClient } from './adapters/trainer-champions.js';
export {
  connectMessaging, followPromotions, consumePromotionsForScoring, startPromotionConsumers, modelPromoted, SCORING_DURABLE, type PromotionConsumers,
} from './adapters/messaging.js';
export * from './metrics.js';
