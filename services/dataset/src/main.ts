// Composition root of the dataset service: config → logger/metrics → database (migrated) →
// S3 → NATS + outbox relay → gRPC server → SERVING; ordered shutdown on SIGTERM.
import { createLogger, createMetricsRegistry, installShutdown, loadGrpcSecurity, startMetricsServer } from '@labelloop/common';
import { openDatabase, runMigrations, S3BlobStore } from '@labelloop/storage';
import { startEventRelay } from './adapters/event-relay.js';
import { loadConfig } from './config.js';
import { createDatasetServer, MIGRATIONS_DIR, SCHEMA } from './server.js';

const config = loadConfig(process.env);
const logger = createLogger({ service: 'dataset', level: config.logLevel });
const registry = createMetricsRegistry('dataset');

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

  const events = await startEventRelay({
    db,
    natsUrl: config.nats.url,
    stream: config.nats.stream,
    subjectPrefix: config.nats.subjectPrefix,
    logger,
    registry,
  });

  const { grpc, imports, scoring, purger } = createDatasetServer({
    db,
    blobs,
    logger,
    registry,
    limits: config.limits,
    deletion: config.deletion,
    onEventsCommitted: () => events.relay.nudge(),
  });
  grpc.secure(loadGrpcSecurity(config.grpcSecurity));
  await grpc.listen(`${config.host}:${config.grpcPort}`);
  const resumed = await imports.resumeUnfinished();
  const resumedScoring = await scoring.resumeUnfinished();
  grpc.health.setServing(true);
  purger.start();
  logger.info(
    {
      grpcPort: config.grpcPort,
      metricsPort: metricsServer.port,
      database: db.kind,
      resumedImports: resumed,
      resumedScoringFinalizations: resumedScoring,
    },
    'dataset service ready',
  );

  // Under Kubernetes' default 30 s terminationGracePeriodSeconds.
  installShutdown({
    logger,
    timeoutMs: 25_000,
    steps: [
      // Health goes NOT_SERVING first, then in-flight calls finish.
      { name: 'grpc server', run: () => grpc.shutdown(15_000) },
      // Running imports stop taking entries and stay RUNNING; the next start resumes them.
      { name: 'imports', run: () => imports.stop() },
      // A finalization cut short stays FINALIZING; the next start finalizes it again.
      { name: 'scoring finalizations', run: () => scoring.stop() },
      // A purge cut short is finished by the next run (the dataset is still expired).
      { name: 'dataset purge', run: () => purger.stop() },
      { name: 'outbox relay', run: () => events.relay.stop() },
      { name: 'nats', run: () => events.nats.drain() },
      { name: 'database', run: () => db.close() },
      { name: 'metrics server', run: () => metricsServer.close() },
    ],
  });
} catch (err) {
  logger.fatal({ err }, 'dataset service failed to start');
  process.exit(1);
}
