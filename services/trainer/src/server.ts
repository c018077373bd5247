import { fileURLToPath } from 'node:url';
import { createGrpcServer, type GrpcServer, type Logger, type Registry } from '@labelloop/common';
import { trainingV1 } from '@labelloop/proto';
import type { BlobStore, Database } from '@labelloop/storage';
import type { DatasetReader } from './adapters/dataset-reader.js';
import { runTrainingJob } from './domain/job/run-training-job.js';
import { RunExecutor, type RunJob } from './domain/run-executor.js';
import { RunWatchers } from './domain/run-watchers.js';
import { TrainerService } from './domain/trainer-service.js';
import { createTrainerHandlers } from './grpc/trainer-handlers.js';
import { createTrainerMetrics } from './metrics.js';
export { SCHEMA } from './adapters/run-repository.js';

/** migrations/ beside src/ and dist/ alike. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations', import.meta.url));

export interface TrainerServerDeps {
  /** Migrated (runMigrations with MIGRATIONS_DIR and SCHEMA). */
  db: Database;
  blobs: BlobStore;
  dataset: DatasetReader;
  logger: Logger;
  registry: Registry;
  /** Worker threads per training job. */
  workers?: number;
  /** The work queue's max_deliver (the last delivery records FAILED instead of retrying). */
  maxDeliver: number;
  /** Default runTrainingJob. */
  runJob?: RunJob;
  onEventsCommitted?: () => void;
  onWorkCommitted?: () => void;
}

export interface TrainerServer {
  grpc: GrpcServer;
  service: TrainerService;
  /** The work-queue handler's target. */
  executor: RunExecutor;
}

/** Builds the gRPC server and everything behind it; nothing listens or consumes until asked. */
export function createTrainerServer(deps: TrainerServerDeps): TrainerServer {
  const metrics = createTrainerMetrics(deps.registry);
  const watchers = new RunWatchers();
  const onEventsCommitted = deps.onEventsCommitted ?? (() => {});
  const executor = new RunExecutor({
    db: deps.db,
    blobs: deps.blobs,
    dataset: deps.dataset,
    logger: deps.logger,
    metrics,
    watchers,
    runJob: deps.runJob ?? runTrainingJob,
    workers: deps.workers,
    maxDeliver: deps.maxDeliver,
    onEventsCommitted,
    onWorkCommitted: deps.onWorkCommitted ?? (() => {}),
  });
  const service = new TrainerService({
    db: deps.db,
    dataset: deps.dataset,
    executor,
    watchers,
    metrics,
    logger: deps.logger,
    onEventsCommitted,
    onWorkCommitted: deps.onWorkCommitted ?? (() => {}),
  });
  const grpc = createGrpcServer({ logger: deps.logger, registry: deps.registry });
  grpc.addService(trainingV1.TrainerServiceDefinition, createTrainerHandlers(service));
  return { grpc, service, executor };
}
