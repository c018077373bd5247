import { createGrpcServer, type GrpcServer, type Logger, type Registry } from '@labelloop/common';
import { inferenceV1 } from '@labelloop/proto';
import type { BlobStore } from '@labelloop/storage';
import { S3ItemImages } from './adapters/item-images.js';
import { ChampionLoader } from './domain/champions.js';
import { ModelRegistry } from './domain/model-registry.js';
import { OnlinePredictor } from './domain/online-predictor.js';
import { ScoringLoop, type ScoringLoopOptions, type ScoringQueue } from './domain/scoring-loop.js';
import { createInferenceHandlers } from './grpc/inference-handlers.js';
import { createInferenceMetrics, type InferenceMetrics } from './metrics.js';
import type { PredictPool } from './workers/predict-pool.js';

/** Largest Predict request: 256 images of up to about 256 KiB each. */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

export interface InferenceServerDeps {
  blobs: BlobStore;
  /** Started predict workers (PredictPool.start). */
  pool: PredictPool;
  logger: Logger;
  registry: Registry;
  /** Idle non-champion models kept loaded (default 1). */
  idleModelCache?: number;
  /** Pool scoring; absent = this replica does not score. */
  scoring?: {
    queue: ScoringQueue;
    worker: string;
    leaseMs: number;
    pollIntervalMs: number;
  } & Pick<ScoringLoopOptions, 'onClaimed' | 'random' | 'fetchConcurrency'>;
}

export interface InferenceServer {
  grpc: GrpcServer;
  models: ModelRegistry;
  champions: ChampionLoader;
  predictor: OnlinePredictor;
  metrics: InferenceMetrics;
  /** Present when scoring is on; not started until asked. */
  scoring?: ScoringLoop;
}

/** Builds the gRPC server and everything behind it; nothing listens, loads or scores until asked. */
export function createInferenceServer(deps: InferenceServerDeps): InferenceServer {
  const metrics = createInferenceMetrics(deps.registry);
  const models = new ModelRegistry({
    runtime: deps.pool,
    logger: deps.logger,
    idleCache: deps.idleModelCache,
    onChange: (loaded) => metrics.modelsLoaded(loaded.length),
  });
  const champions = new ChampionLoader({ registry: models, logger: deps.logger });
  const predictor = new OnlinePredictor({ registry: models, pool: deps.pool, metrics });
  const scoring =
    deps.scoring &&
    new ScoringLoop({
      ...deps.scoring,
      images: new S3ItemImages(deps.blobs),
      registry: models,
      pool: deps.pool,
      metrics,
      logger: deps.logger.child({ component: 'scoring' }),
    });
  const grpc = createGrpcServer({ logger: deps.logger, registry: deps.registry, maxMessageBytes: MAX_MESSAGE_BYTES });
  grpc.addService(inferenceV1.InferenceServiceDefinition, createInferenceHandlers({ predictor, registry: models }));
  return { grpc, models, champions, predictor, metrics, scoring };
}
