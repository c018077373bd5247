import { availableParallelism } from 'node:os';
import {
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

// The trainer's configuration from the environment, parsed once at start (pure: tests pass their own env).

const schema = z.object({
  /** gRPC port of labelloop.training.v1.TrainerService (0 = any free port). */
  GRPC_PORT: portSchema(50052),
  METRICS_PORT: portSchema(9465),
  HOST: patternSchema('0.0.0.0', 'a host name or IP address', /^[A-Za-z0-9.:_-]+$/),
  LOG_LEVEL: logLevelSchema,
  ...databaseEnvSchema.shape,
  ...s3EnvSchema.shape,
  // NATS_URL (required), EVENTS_STREAM, EVENTS_SUBJECT_PREFIX.
  ...eventsEnvSchema.shape,
  /** The dataset service's gRPC address. */
  DATASET_ADDR: patternSchema('127.0.0.1:50051', 'host:port', /^[A-Za-z0-9.\-_[\]:]+:\d+$/),
  /** Worker threads per training job (wasm backend); default: the cores. */
  TRAINER_WORKERS: positiveIntegerSchema(availableParallelism()),
  /** Work items (runs) executed at once by this process. */
  TRAINER_CONCURRENCY: positiveIntegerSchema(1),
  /** Work item AckWait: a dead trainer's run is redelivered after this. */
  TRAINER_ACK_WAIT: durationMsSchema(30_000),
  /** Deliveries of a work item before its run is recorded FAILED. */
  TRAINER_MAX_DELIVER: positiveIntegerSchema(5),
  // INTERNAL_TOKEN, GRPC_TLS_CERT, GRPC_TLS_KEY, GRPC_TLS_CA: who may call the gRPC ports.
  ...grpcSecurityEnvSchema.shape,
});

export interface TrainerConfig {
  grpcPort: number;
  metricsPort: number;
  host: string;
  logLevel: z.output<typeof schema>['LOG_LEVEL'];
  database: { url?: string; pgliteDir: string; poolSize: number };
  s3: S3Config;
  nats: { url: string; stream: string; subjectPrefix: string };
  datasetAddr: string;
  work: { workers: number; concurrency: number; ackWaitMs: number; maxDeliver: number };
  /** Internal token / TLS of the gRPC server and of the channel to the dataset service. */
  grpcSecurity: GrpcSecurityEnv;
}

export const DEFAULT_PGLITE_DIR = './.labelloop/pg/trainer';

export function loadConfig(env: Record<string, string | undefined>): TrainerConfig {
  const p = parseConfig(schema, env);
  return {
    grpcPort: p.GRPC_PORT,
    metricsPort: p.METRICS_PORT,
    host: p.HOST,
    logLevel: p.LOG_LEVEL,
    database: { url: p.DATABASE_URL, pgliteDir: p.PGLITE_DIR ?? DEFAULT_PGLITE_DIR, poolSize: p.DATABASE_POOL_SIZE },
    s3: s3ConfigFromEnv(p),
    nats: { url: p.NATS_URL, stream: p.EVENTS_STREAM, subjectPrefix: p.EVENTS_SUBJECT_PREFIX },
    datasetAddr: p.DATASET_ADDR,
    work: { workers: p.TRAINER_WORKERS, concurrency: p.TRAINER_CONCURRENCY, ackWaitMs: p.TRAINER_ACK_WAIT, maxDeliver: p.TRAINER_MAX_DELIVER },
    grpcSecurity: { INTERNAL_TOKEN: p.INTERNAL_TOKEN, GRPC_TLS_CERT: p.GRPC_TLS_CERT, GRPC_TLS_KEY: p.GRPC_TLS_KEY, GRPC_TLS_CA: p.GRPC_TLS_CA },
  };
}
