// Composition root of the inference service: config → logger/metrics → tfjs backend → predict
// workers → S3 → dataset and trainer clients → NATS (per-replica promotion follower) → champions
// loaded → gRPC server → scoring consumer and loop → SERVING. SIGTERM: NOT_SERVING → stop starting
// jobs and claiming shards (the shard in flight finishes or is left to its lease) → in-flight
// Predicts finish → NATS drains → workers and connections close.
import {
  createGrpcChannel,
  createGrpcClient,
  createLogger,
  createMetricsRegistry,
  installShutdown,
  loadGrpcSecurity,
  startMetricsServer,
  type ShutdownHandle,
} from '@labelloop/common';
import { initBackend } from '@labelloop/ml';
import { datasetV1, trainingV1 } from '@labelloop/proto';
import { S3BlobStore } from '@labelloop/storage';
import { DatasetScoringQueue } from './adapters/dataset-scoring.js';
import { connectMessaging, startPromotionConsumers } from './adapters/messaging.js';
import { TrainerChampionSource } from './adapters/trainer-champions.js';
import { loadConfig } from './config.js';
import { createInferenceServer } from './server.js';
import { PredictPool } from './workers/predict-pool.js';

const config = loadConfig(process.env);
const logger = createLogger({ service: 'inference', level: config.logLevel });
const registry = createMetricsRegistry('inference');

try {
  const metricsServer = await startMetricsServer({ registry, port: config.metricsPort, host: config.host });
  const backend = await initBackend({ logger });
  const blobs = new S3BlobStore(config.s3, { logger });
  let shutdown: ShutdownHandle | undefined;
  let fatal = false;
  const pool = await PredictPool.start({
    workers: config.workers,
    backend: backend.name,
    blobs,
    logger,
    // A dead worker leaves the pool unusable: exit non-zero so the orchestrator restarts us.
    onFatal: () => {
      fatal = true;
      void shutdown?.shutdown('predict worker died');
    },
  });
  const grpcSecurity = loadGrpcSecurity(config.grpcSecurity);
  const datasetChannel = createGrpcChannel(config.datasetAddr, { security: grpcSecurity });
  const trainerChannel = createGrpcChannel(config.trainerAddr, { security: grpcSecurity });
  const dataset = createGrpcClient(datasetV1.DatasetServiceDefinition, datasetChannel, { registry });
  const trainer = createGrpcClient(trainingV1.TrainerServiceDefinition, trainerChannel, { registry });
  const queue = new DatasetScoringQueue(dataset);
  const { scoring: scoringConfig } = config;
  const server = createInferenceServer({
    blobs,
    pool,
    logger,
    registry,
    scoring: scoringConfig.enabled
      ? { queue, worker: scoringConfig.workerName, leaseMs: scoringConfig.leaseMs, pollIntervalMs: scoringConfig.pollIntervalMs }
      : undefined,
  });

  const nc = await connectMessaging({ ...config.nats, logger });
  // Following first, then loading: a promotion during the initial load is not missed, and wins.
  const promotions = await startPromotionConsumers(nc, {
    ...config.nats,
    logger,
    onPromoted: (ref) => server.champions.promoted(ref),
    scoring: server.scoring && { queue, shardSize: scoringConfig.shardSize, nudge: () => server.scoring?.nudge() },
  });
  const champions = await server.champions.syncAll(new TrainerChampionSource(dataset, trainer));
  server.grpc.secure(grpcSecurity);
  await server.grpc.listen(`${config.host}:${config.grpcPort}`);
  server.scoring?.start();
  server.grpc.health.setServing(true);
  logger.info(
    { grpcPort: config.grpcPort, metricsPort: metricsServer.port, workers: pool.size, backend: pool.backend, champions, scoring: scoringConfig.enabled, worker: scoringConfig.workerName },
    'inference service ready',
  );

  shutdown = installShutdown({
    logger,
    timeoutMs: 25_000,
    exit: (code) => process.exit(fatal ? 1 : code),
    steps: [
      { name: 'health', run: async () => server.grpc.health.setServing(false) },
      { name: 'scoring jobs consumer', run: () => promotions.stopScoringJobs() },
      // The shard in flight gets 10 s to be recorded; otherwise its lease expires and another replica scores it.
      { name: 'scoring loop', run: async () => server.scoring?.stop({ graceMs: 10_000 }) },
      { name: 'grpc server', run: () => server.grpc.shutdown(10_000) },
      { name: 'promotion follower', run: () => promotions.stopFollowing() },
      { name: 'champion loads', run: () => server.champions.stop() },
      { name: 'nats', run: () => nc.drain() },
      { name: 'predict workers', run: () => pool.close() },
      { name: 'grpc channels', run: async () => (datasetChannel.close(), trainerChannel.close()) },
      { name: 'blob store', run: () => blobs.close() },
      { name: 'metrics server', run: () => metricsServer.close() },
    ],
  });
} catch (err) {
  logger.fatal({ err }, 'inference service failed to start');
  process.exit(1);
}
