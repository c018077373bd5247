import {
  byteSizeSchema,
  durationMsSchema,
  grpcSecurityEnvSchema,
  type GrpcSecurityEnv,
  logLevelSchema,
  parseConfig,
  patternSchema,
  portSchema,
  positiveIntegerSchema,
} from '@labelloop/common';
import { eventsEnvSchema } from '@labelloop/events';
import { databaseEnvSchema, s3ConfigFromEnv, s3EnvSchema, type S3Config } from '@labelloop/storage';
import { z } from 'zod';

// The dataset service's configuration: environment variables, parsed once at start by
// loadConfig (pure: tests pass their own env). A bad value fails with one message naming it.

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

const schema = z.object({
  /** gRPC port of labelloop.dataset.v1.DatasetService (0 = any free port). */
  GRPC_PORT: portSchema(50051),
  /** Port of the Prometheus /metrics endpoint. */
  METRICS_PORT: portSchema(9464),
  /** Address to bind both servers to. */
  HOST: patternSchema('0.0.0.0', 'a host name or IP address', /^[A-Za-z0-9.:_-]+$/),
  /** pino level: fatal, error, warn, info, debug, trace or silent. */
  LOG_LEVEL: logLevelSchema,
  // DATABASE_URL (PostgreSQL) or else PGLITE_DIR (embedded), DATABASE_POOL_SIZE.
  ...databaseEnvSchema.shape,
  // S3_ENDPOINT, S3_REGION, S3_BUCKET, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, S3_FORCE_PATH_STYLE.
  ...s3EnvSchema.shape,
  // NATS_URL (required), EVENTS_STREAM, EVENTS_SUBJECT_PREFIX.
  ...eventsEnvSchema.shape,
  /** Largest accepted image file (upload or archive entry). */
  MAX_IMAGE_BYTES: byteSizeSchema(20 * MiB),
  /** Largest accepted width × height; bigger images are refused from their header (decompression bombs). */
  MAX_IMAGE_PIXELS: positiveIntegerSchema(40_000_000),
  /** Largest uploaded import archive (compressed). */
  MAX_ARCHIVE_BYTES: byteSizeSchema(2 * GiB),
  /** Most entries an import archive may hold. */
  MAX_ARCHIVE_ENTRIES: positiveIntegerSchema(200_000),
  /** Most bytes an import archive may unpack to, all entries together. */
  MAX_ARCHIVE_EXPANDED_BYTES: byteSizeSchema(8 * GiB),
  /** Largest uncompressed/compressed ratio of an archive entry (zip bombs). */
  MAX_COMPRESSION_RATIO: positiveIntegerSchema(100),
  /** How long a deleted dataset stays restorable; then the purge removes its rows and objects. */
  DATASET_RETENTION: durationMsSchema(30 * 24 * 3_600_000),
  /** How often the purge looks for datasets deleted longer ago than DATASET_RETENTION. */
  PURGE_INTERVAL: durationMsSchema(3_600_000).refine((ms) => ms >= 1000, 'expected at least 1s'),
  // INTERNAL_TOKEN, GRPC_TLS_CERT, GRPC_TLS_KEY, GRPC_TLS_CA: who may call the gRPC port.
  ...grpcSecurityEnvSchema.shape,
});

export interface DatasetConfig {
  grpcPort: number;
  metricsPort: number;
  host: string;
  logLevel: z.output<typeof schema>['LOG_LEVEL'];
  database: { url?: string; pgliteDir: string; poolSize: number };
  s3: S3Config;
  nats: { url: string; stream: string; subjectPrefix: string };
  limits: {
    maxImageBytes: number;
    maxImagePixels: number;
    maxArchiveBytes: number;
    maxArchiveEntries: number;
    maxArchiveExpandedBytes: number;
    maxCompressionRatio: number;
  };
  /** Soft delete: restorable for retentionMs, purged by a job every purgeIntervalMs. */
  deletion: { retentionMs: number; purgeIntervalMs: number };
  /** Internal token / TLS of the gRPC server. */
  grpcSecurity: GrpcSecurityEnv;
}

export const DEFAULT_PGLITE_DIR = './.labelloop/pg/dataset';

export function loadConfig(env: Record<string, string | undefined>): DatasetConfig {
  const parsed = parseConfig(schema, env);
  return {
    grpcPort: parsed.GRPC_PORT,
    metricsPort: parsed.METRICS_PORT,
    host: parsed.HOST,
    logLevel: parsed.LOG_LEVEL,
    database: {
      url: parsed.DATABASE_URL,
      pgliteDir: parsed.PGLITE_DIR ?? DEFAULT_PGLITE_DIR,
      poolSize: parsed.DATABASE_POOL_SIZE,
    },
    s3: s3ConfigFromEnv(parsed),
    nats: { url: parsed.NATS_URL, stream: parsed.EVENTS_STREAM, subjectPrefix: parsed.EVENTS_SUBJECT_PREFIX },
    limits: {
      maxImageBytes: parsed.MAX_IMAGE_BYTES,
      maxImagePixels: parsed.MAX_IMAGE_PIXELS,
      maxArchiveBytes: parsed.MAX_ARCHIVE_BYTES,
      maxArchiveEntries: parsed.MAX_ARCHIVE_ENTRIES,
      maxArchiveExpandedBytes: parsed.MAX_ARCHIVE_EXPANDED_BYTES,
      maxCompressionRatio: parsed.MAX_COMPRESSION_RATIO,
    },
    deletion: { retentionMs: parsed.DATASET_RETENTION, purgeIntervalMs: parsed.PURGE_INTERVAL },
    grpcSecurity: {
      INTERNAL_TOKEN: parsed.INTERNAL_TOKEN,
      GRPC_TLS_CERT: parsed.GRPC_TLS_CERT,
      GRPC_TLS_KEY: parsed.GRPC_TLS_KEY,
      GRPC_TLS_CA: parsed.GRPC_TLS_CA,
    },
  };
}
