import { availableParallelism, hostname } from 'node:os';
import {
  booleanFromEnv,
  durationMsSchema,
  grpcSecurityEnvSchema,
  logLevelSchema,
  type GrpcSecurityEnv,
  parseConfig,
  patternSchema,
  portSchema,
  positiveIntegerSchema,
} from '@labelloop/common';
import { eventsEnvSchema } from '@labelloop/events';
import { s3ConfigFromEnv, s3EnvSchema, type S3Config } from '@labelloop/storage';
import { z } from 'zod';

// The inference service's configuration from the environment, parsed once at start (pure: tests
// pass their own env). No database: predictions are written through the dataset service.

const ADDRESS = /^[A-Za-z0-9.\-_[\]:]+:\d+$/;

/** The dataset service's limits for BeginScoring's shard_size and ClaimScoringShard's lease_seconds. */
export const MAX_SHARD_SIZE = 2000;
export const MAX_LEASE_MS = 3_600_000;

const schema = z.object({
  /** gRPC port of labelloop.inference.v1.InferenceService (0 = any free port). */
  GRPC_PORT: portSchema(50053),
  METRICS_PORT: portSchema(9466),
  HOST: patternSchema('0.0.0.0', 'a host name or IP address', /^[A-Za-z0-9.:_-]+$/),
  LOG_LEVEL: logLevelSchema,
  ...s3EnvSchema.shape,
  // NATS_URL (required), EVENTS_STREAM, EVENTS_SUBJECT_PREFIX.
  ...eventsEnvSchema.shape,
  /** The dataset service's gRPC address (datasets, scoring shards, predictions). */
  DATASET_ADDR: patternSchema('127.0.0.1:50051', 'host:port', ADDRESS),
  /** The trainer's gRPC address (each dataset's champion at start). */
  TRAINER_ADDR: patternSchema('127.0.0.1:50052', 'host:port', ADDRESS),
  /** Predict worker threads, each with the tfjs backend and every loaded model; default: the cores. */
  INFERENCE_WORKERS: positiveIntegerSchema(availableParallelism()),
  /** Whether this replica scores pools after promotions (claims shards). */
  SCORING_ENABLED: booleanFromEnv(true),
  /** Wait between claims while there is no shard to score. */
  SCORING_POLL_INTERVAL: durationMsSchema(2000),
  /** Lease asked for each claimed shard: another replica takes the shard over after it expires. */
  SCORING_LEASE: durationMsSchema(300_000).refine((ms) => ms >= 5000 && ms <= MAX_LEASE_MS, 'expected a duration from 5s to 1h'),
  /** Items per shard asked for in BeginScoring. */
  SCORING_SHARD_SIZE: positiveIntegerSchema(256).refine((n) => n <= MAX_SHARD_SIZE, `expected at most ${MAX_SHARD_SIZE}`),
  /** Who holds shard leases (shown in the dataset service); default host name + pid. */
  WORKER_NAME: patternSchema(`${hostname()}-${process.pid}`, 'a name (A-Z a-z 0-9 . _ : -)', /^[A-Za-z0-9._:-]{1,200}$/),
  // INTERNAL_TOKEN, GRPC_TLS_CERT, GRPC_TLS_KEY, GRPC_TLS_CA: who may call the gRPC ports.
  ...grpcSecurityEnvSchema.shape,
});

export interface InferenceConfig {
  grpcPort: number;
  metricsPort: number;
  host: string;
  logLevel: z.output<typeof schema>['LOG_LEVEL'];
  s3: S3Config;
  nats: { url: string; stream: string; subjectPrefix: string };
  datasetAddr: string;
  trainerAddr: string;
  workers: number;
  scoring: { enabled: boolean; pollIntervalMs: number; leaseMs: number; shardSize: number; workerName: string };
  /** Internal token / TLS of the gRPC server and of the channels to the dataset service and trainer. */
  grpcSecurity: GrpcSecurityEnv;
}

export function loadConfig(env: Record<string, string | undefined>): InferenceConfig {
  const p = parseConfig(schema, env);
  return {
    grpcPort: p.GRPC_PORT,
    metricsPort: p.METRICS_PORT,
    host: p.HOST,
    logLevel: p.LOG_LEVEL,
    s3: s3ConfigFromEnv(p),
    nats: { url: p.NATS_URL, stream: p.EVENTS_STREAM, subjectPrefix: p.EVENTS_SUBJECT_PREFIX },
    datasetAddr: p.DATASET_ADDR,
    trainerAddr: p.TRAINER_ADDR,
    workers: p.INFERENCE_WORKERS,
    grpcSecurity: { INTERNAL_TOKEN: p.INTERNAL_TOKEN, GRPC_TLS_CERT: p.GRPC_TLS_CERT, GRPC_TLS_KEY: p.GRPC_TLS_KEY, GRPC_TLS_CA: p.GRPC_TLS_CA },
    scoring: {
      enabled: p.SCORING_ENABLED,
      pollIntervalMs: p.SCORING_POLL_INTERVAL,
      leaseMs: p.SCORING_LEASE,
      shardSize: p.SCORING_SHARD_SIZE,
      workerName: p.WORKER_NAME,
    },
  };
}
