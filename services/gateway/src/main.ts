// Composition root: config → logger/metrics → database (migrations, admin key) → gRPC
// channel to the dataset service → express app → listen; SIGTERM shuts down in order.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGrpcChannel, createLogger, createMetricsRegistry, installShutdown, loadGrpcSecurity } from '@labelloop/common';
import { openDatabase } from '@labelloop/storage';
import { createApp } from './app.js';
import { trackHttpShutdown } from './http-shutdown.js';
import { ApiKeyStore } from './auth/api-key-store.js';
import { RateLimits } from './auth/rate-limit.js';
import { seedAdminKey } from './auth/seed-admin-key.js';
import { DatasetGateway } from './clients/dataset.gateway.js';
import { InferenceGateway } from './clients/inference.gateway.js';
import { TrainerGateway } from './clients/trainer.gateway.js';
import { loadConfig } from './config.js';
import { migrate } from './database.js';
import { endAllEventStreams } from './sse.js';

const config = loadConfig(process.env);
const logger = createLogger({ service: 'gateway', level: config.LOG_LEVEL });
const registry = createMetricsRegistry('gateway');

try {
  const db = await openDatabase({
    url: config.DATABASE_URL,
    pgliteDir: config.PGLITE_DIR,
    poolSize: config.DATABASE_POOL_SIZE,
    logger,
  });
  await migrate(db, logger);
  // A generated key goes to stdout as one plain line, never through the logger.
  await seedAdminKey(db, {
    adminKey: config.LABELLOOP_ADMIN_KEY,
    print: (line) => process.stdout.write(`${line}\n`),
    logger,
  });

  // Whole images travel in single messages (UploadItem, GetItemImage).
  // Every call carries the internal token (and uses TLS) when configured.
  const security = loadGrpcSecurity(config);
  const channel = createGrpcChannel(config.DATASET_ADDR, { maxMessageBytes: config.MAX_IMAGE_BYTES + 1024 ** 2, security });
  const trainerChannel = createGrpcChannel(config.TRAINER_ADDR, { security });
  // A batch of up to 256 images travels in one Predict message.
  const inferenceChannel = createGrpcChannel(config.INFERENCE_ADDR, { maxMessageBytes: 64 * 1024 ** 2, security });
  const app = createApp({
    dataset: new DatasetGateway(channel, { registry }),
    trainer: new TrainerGateway(trainerChannel, { registry }),
    inference: new InferenceGateway(inferenceChannel, { registry }),
    apiKeys: new ApiKeyStore(db),
    rateLimits: new RateLimits({
      perKeyPerMinute: config.RATE_LIMIT_PER_MINUTE,
      anonymousPerMinute: config.RATE_LIMIT_ANONYMOUS_PER_MINUTE,
    }),
    db,
    registry,
    logger,
    limits: {
      maxImageBytes: config.MAX_IMAGE_BYTES,
      maxFilesPerUpload: config.MAX_FILES_PER_UPLOAD,
      maxArchiveBytes: config.MAX_ARCHIVE_BYTES,
      maxJsonBytes: config.MAX_JSON_BYTES,
      uploadConcurrency: config.UPLOAD_CONCURRENCY,
    },
  });

  const server = createServer(app);
  const http = trackHttpShutdown(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.PORT, config.HOST, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  logger.info({ port, host: config.HOST, datasetAddr: config.DATASET_ADDR, trainerAddr: config.TRAINER_ADDR, database: db.kind }, 'gateway listening');

  // Under Kubernetes' default 30 s terminationGracePeriodSeconds.
  installShutdown({
    logger,
    timeoutMs: 25_000,
    steps: [
      {
        name: 'http server',
        // Stops accepting; resolves once in-flight requests have finished and keep-alive connections ended.
        run: async () => {
          const closed = http.close();
          // Event streams last as long as a run: end them; their clients reconnect elsewhere.
          const streams = endAllEventStreams();
          if (streams > 0) logger.info({ streams }, 'event streams ended for shutdown');
          await closed;
        },
      },
      { name: 'dataset channel', run: async () => channel.close() },
      { name: 'trainer channel', run: async () => trainerChannel.close() },
      { name: 'inference channel', run: async () => inferenceChannel.close() },
      { name: 'database', run: () => db.close() },
    ],
  });
} catch (err) {
  logger.fatal({ err }, 'gateway failed to start');
  process.exit(1);
}
