// Gateway configuration: one zod schema over the environment, parsed once by main.ts.
import { byteSizeSchema, envValueSchema, grpcSecurityEnvSchema, logLevelSchema, parseConfig, portSchema } from '@labelloop/common';
import { databaseEnvSchema } from '@labelloop/storage';
import { z } from 'zod';

export const DEFAULT_PGLITE_DIR = './.labelloop/pg/gateway';

const MiB = 1024 ** 2;

const optionalString = z
  .string()
  .optional()
  .transform((raw) => (raw === undefined || raw.trim() === '' ? undefined : raw.trim()));

function positiveInt(defaultValue: number, max: number) {
  return envValueSchema(defaultValue, `an integer 1..${max}`, (raw) => {
    if (!/^\d+$/.test(raw)) return undefined;
    const value = Number(raw);
    return value >= 1 && value <= max ? value : undefined;
  });
}

/** Requests per minute; 0 turns the limit off. */
function perMinute(defaultValue: number) {
  return envValueSchema(defaultValue, 'requests per minute, an integer ≥ 0 (0: unlimited)', (raw) =>
    /^\d+$/.test(raw) && Number(raw) <= 10_000_000 ? Number(raw) : undefined,
  );
}

export const configSchema = z
  .object({
    /** HTTP port of the REST API (0 = any free port). */
    PORT: portSchema(8080),
    /** Address to listen on; default all interfaces (it runs in a container). */
    HOST: z.string().optional().transform((raw) => raw?.trim() || '0.0.0.0'),
    LOG_LEVEL: logLevelSchema,
    /** host:port of the dataset service's gRPC API. */
    DATASET_ADDR: z.string().optional().transform((raw) => raw?.trim() || '127.0.0.1:50051'),
    /** host:port of the trainer service's gRPC API (training routes answer 503 while it is down). */
    TRAINER_ADDR: z.string().optional().transform((raw) => raw?.trim() || '127.0.0.1:50052'),
    /** host:port of the inference service's gRPC API (prediction routes answer 503 while it is down). */
    INFERENCE_ADDR: z.string().optional().transform((raw) => raw?.trim() || '127.0.0.1:50053'),
    // DATABASE_URL (PostgreSQL) or else PGLITE_DIR (embedded, default ./.labelloop/pg/gateway),
    // DATABASE_POOL_SIZE. The database holds the API keys.
    ...databaseEnvSchema.shape,
    /** An admin API key to accept (seeded on start); unset: one is generated and printed once. */
    LABELLOOP_ADMIN_KEY: optionalString.refine((key) => key === undefined || key.length >= 24, {
      message: 'must be at least 24 characters (use a random key, e.g. `openssl rand -base64 32`)',
    }),
    /** Largest image accepted per file in an upload; larger files are rejected as too_large. */
    MAX_IMAGE_BYTES: byteSizeSchema(20 * MiB),
    /** Most file parts in one upload request; more → 413. */
    MAX_FILES_PER_UPLOAD: positiveInt(1000, 100_000),
    /** Largest import archive; larger → 413. */
    MAX_ARCHIVE_BYTES: byteSizeSchema(2 * 1024 * MiB),
    /** Largest JSON request body; larger → 413. */
    MAX_JSON_BYTES: byteSizeSchema(1 * MiB),
    /** Files of one upload request read ahead of the dataset service's UploadItems stream. */
    UPLOAD_CONCURRENCY: positiveInt(8, 64),
    /** Requests per minute per API key (each replica counts on its own); 0: unlimited. */
    RATE_LIMIT_PER_MINUTE: perMinute(6000),
    /** Requests per minute per client IP that carry no valid API key (401s, key guessing); 0: unlimited. */
    RATE_LIMIT_ANONYMOUS_PER_MINUTE: perMinute(300),
    // INTERNAL_TOKEN sent on every gRPC call; GRPC_TLS_CA / GRPC_TLS_CERT / GRPC_TLS_KEY for (mutual) TLS.
    ...grpcSecurityEnvSchema.shape,
  })
  .transform((config) => ({ ...config, PGLITE_DIR: config.PGLITE_DIR ?? DEFAULT_PGLITE_DIR }));

export type Config = z.output<typeof configSchema>;

/** Parses the environment; throws ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  return parseConfig(configSchema, env);
}
