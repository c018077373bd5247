// Composition root of the trainer: config → logger/metrics → database (migrated) → S3 → NATS
// (events stream + work stream + two outbox relays) → gRPC server → work and policy consumers →
// SERVING. SIGTERM: NOT_SERVING → hand the in-flight run back → relays → drain → close.
import {
  createGrpcChannel,
  createLogger,
  createMetricsRegistry,
  installShutdown,
  loadGrpcSecurity,
  startMetricsServer,
} from '@labelloop/common';
import { openDatabase, runMigrations, S3BlobStore } from '@labelloop/storage';
import { createDatasetReader } from './adapters/dataset-reader.js';
import { startMessaging, startPolicyConsumer, startWorkConsumer } from './adapters/messaging.js';
import { loadConfig } from './config.js';
import { createTrainerServer, MIGRATIONS_DIR, SCHEMA } from './server.js';

const config = loadConfig(process.env);
const logger = createLogger({ service: 'trainer', level: config.logLevel });
const registry = createMetricsRegistry('trainer');

try {
  const metricsServer = await startMetricsServer({ registry, port: config.metricsPort, host: config.host });
  const db = await openDatabase({
    url: config.database.url,
    pgliteDir: config.database.url ? undefined : config.database.pgliteDir,
    poolSize: config.database.poolSize,
    logger,
  });
  await runMigrations(db, { schema: SCHEMA, dir: MIGRATIONS_DIR, logger });
  const blobs = new S3BlobStore(config.s3);
  await blobs.ensureBucket();
  const grpcSecurity = loadGrpcSecurity(config.grpcSecurity);
  const datasetChannel = createGrpcChannel(config.datasetAddr, { maxMessageBytes: 64 * 1024 * 1024, security: grpcSecurity });
  const dataset = createDatasetReader(datasetChannel, { registry });

  const messaging = await startMessaging({ db, natsUrl: config.nats.url, stream: config.nats.stream, subjectPrefix: config.nats.subjectPrefix, logger, registry });
  const { grpc, service, executor } = createTrainerServer({
    db,
    blobs,
    dataset,
    logger,
    registry,
    workers: config.work.workers,
    maxDeliver: config.work.maxDeliver,
    onEventsCommitted: () => messaging.events.nudge(),
    onWorkCommitted: () => messaging.work.nudge(),
  });
  await service.loadGauges();
  grpc.secure(grpcSecurity);
  await grpc.listen(`${config.host}:${config.grpcPort}`);
  const work = await startWorkConsumer(messaging, executor, { logger, ...config.work });
  const policy = await startPolicyConsumer(messaging, service, { ...config.nats, logger });
  grpc.health.setServing(true);
  logger.info({ grpcPort: config.grpcPort, metricsPort: metricsServer.port, database: db.kind, workStream: messaging.workStream }, 'trainer service ready');

  installShutdown({
    logger,
    timeoutMs: 25_000,
    steps: [
      { name: 'health', run: async () => grpc.health.setServing(false) },
      // The running job stops at its next batch and its work item goes back to the queue at once.
      { name: 'work consumer', run: () => work.stop({ handBack: true }) },
      { name: 'grpc server', run: () => grpc.shutdown(10_000) },
      { name: 'policy consumer', run: () => policy.stop() },
      { name: 'outbox relays', run: async () => void (await Promise.all([messaging.events.stop(), messaging.work.stop()])) },
      { name: 'nats', run: () => messaging.nats.drain() },
      { name: 'dataset channel', run: async () => datasetChannel.close() },
      { name: 'database', run: () => db.close() },
      { name: 'blob store', run: () => blobs.close() },
      { name: 'metrics server', run: () => metricsServer.close() },
    ],
  });
} catch (err) {
  logger.fatal({ err }, 'trainer service failed to start');
  process.exit(1);
}
