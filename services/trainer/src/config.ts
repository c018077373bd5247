import { availableParallelism } from 'node:os';
import { durationMsSchema, envValueSchema, logLevelSchema, parseConfig, portSchema } from '@labelloop/common';
import { databaseEnvSchema, s3ConfigFromEnv, s3EnvSchema, type S3Config } from '@labelloop/storage';
import { z } from 'zod';

// The trainer's configuration from the environment, parsed once at start (pure: tests pass their own env).

function positiveInteger(defaultValue: number) {
  return envValueSchema(defaultValue, 'a positive integer', (raw) => {
    const value = Number(raw);
    return /^\d+$/.test(raw) && Number.isSafeInteger(value) && value > 0 ? value : undefined;
  });
}

function matching(defaultValue: string, expected: string, pattern: RegExp) {
  return envValueSchema(defaultValue, expected, (raw) => (pattern.test(raw) ? raw : undefined));
}

const schema = z.object({
  /** gRPC port of labelloop.training.v1.TrainerService (0 = any free port). */
  GRPC_PORT: portSchema(50052),
  METRICS_PORT: portSchema(9465),
  HOST: matching('0.0.0.0', 'a host name or IP address', /^[A-Za-z0-9.:_-]+$/),
  LOG_LEVEL: logLevelSchema,
  ...databaseEnvSchema.shape,
  ...s3EnvSchema.shape,
  NATS_URL: z
    .string({ error: 'required: the NATS server URL, e.g. nats://127.0.0.1:4222' })
    .trim()
    .min(1, 'required: the NATS server URL, e.g. nats://127.0.0.1:4222'),
  EVENTS_STREAM: matching('LABELLOOP', 'a stream name (A-Z a-z 0-9 _ -)', /^[A-Za-z0-9_-]+$/),
  EVENTS_SUBJECT_PREFIX: matching('labelloop', 'dot-separated tokens without wildcards', /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/),
  /** The dataset service's gRPC address. */
  DATASET_ADDR: matching('127.0.0.1:50051', 'host:port', /^[A-Za-z0-9.\-_[\]:]+:\d+$/),
  /** Worker threads per training job (wasm backend); default: the cores. */
  TRAINER_WORKERS: positiveInteger(availableParallelism()),
  /** Work items (runs) executed at once by this process. */
  TRAINER_CONCURRENCY: positiveInteger(1),
  /** Work item AckWait: a dead trainer's run is redelivered after this. */
  TRAINER_ACK_WAIT: durationMsSchema(30_000),
  /** Deliveries of a work item before its run is recorded FAILED. */
  TRAINER_MAX_DELIVER: positiveInteger(5),
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
  };
}
