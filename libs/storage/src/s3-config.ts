import { z } from 'zod';
import { ConfigError, envValueSchema } from '@labelloop/common';
import type { S3Config } from './s3-blob-store.js';

// Environment fragments for services' config schemas:
//   z.object({ ...s3EnvSchema.shape, ...databaseEnvSchema.shape, ... })
// They are plain objects (no refinements) so they can be spread or extended.

function optionalString(expected: string, valid: (raw: string) => boolean) {
  return envValueSchema<string | undefined>(undefined, expected, (raw) => (valid(raw) ? raw : undefined));
}

function isUrl(raw: string, protocols: readonly string[]): boolean {
  try {
    return protocols.includes(new URL(raw).protocol);
  } catch {
    return false;
  }
}

export const s3EnvSchema = z.object({
  /** S3-compatible endpoint (MinIO, s3rver, ...); unset = AWS S3. */
  S3_ENDPOINT: optionalString('an http(s) URL', (raw) => isUrl(raw, ['http:', 'https:'])),
  /** Region for request signing. */
  S3_REGION: envValueSchema('us-east-1', 'a region name', (raw) => raw),
  /** Bucket holding images, models and exports. */
  S3_BUCKET: envValueSchema('labelloop', 'a bucket name (3-63 of a-z 0-9 . -)', (raw) =>
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(raw) ? raw : undefined,
  ),
  /** Static credentials; both unset = the SDK's default chain (IAM role, env, profile). */
  S3_ACCESS_KEY_ID: z.string().optional(),
  S3_SECRET_ACCESS_KEY: z.string().optional(),
  /** Path-style URLs (endpoint/bucket/key); default true when S3_ENDPOINT is set. */
  S3_FORCE_PATH_STYLE: envValueSchema<boolean | undefined>(undefined, "'true', 'false', '1' or '0'", (raw) => {
    const value = raw.toLowerCase();
    if (value === 'true' || value === '1') return true;
    if (value === 'false' || value === '0') return false;
    return undefined;
  }),
});

export type S3Env = z.output<typeof s3EnvSchema>;

/** S3Config from the parsed fragment; ConfigError when only one of the two keys is set. */
export function s3ConfigFromEnv(parsed: S3Env): S3Config {
  const accessKeyId = parsed.S3_ACCESS_KEY_ID?.trim() || undefined;
  const secretAccessKey = parsed.S3_SECRET_ACCESS_KEY?.trim() || undefined;
  if (Boolean(accessKeyId) !== Boolean(secretAccessKey)) {
    throw new ConfigError(['S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY: set both or neither']);
  }
  return {
    endpoint: parsed.S3_ENDPOINT,
    region: parsed.S3_REGION,
    bucket: parsed.S3_BUCKET,
    accessKeyId,
    secretAccessKey,
    forcePathStyle: parsed.S3_FORCE_PATH_STYLE ?? parsed.S3_ENDPOINT !== undefined,
  };
}

export const databaseEnvSchema = z.object({
  /** postgres:// URL of a PostgreSQL server; unset = embedded PGlite in PGLITE_DIR. */
  DATABASE_URL: z
    .string()
    .optional()
    .transform((raw, ctx) => {
      const trimmed = raw?.trim();
      if (!trimmed) return undefined;
      if (!isUrl(trimmed, ['postgres:', 'postgresql:'])) {
        // The value is not echoed: it may hold a password.
        ctx.issues.push({ code: 'custom', message: 'expected a postgres:// or postgresql:// URL', input: raw });
        return z.NEVER;
      }
      return trimmed;
    }),
  /** Folder of the embedded PGlite database (used when DATABASE_URL is unset). */
  PGLITE_DIR: optionalString('a folder path', (raw) => raw.length > 0),
  /** Connections in the pg pool. */
  DATABASE_POOL_SIZE: envValueSchema(10, 'an integer 1..1000', (raw) => {
    const size = Number(raw);
    return Number.isInteger(size) && size >= 1 && size <= 1000 ? size : undefined;
  }),
});

export type DatabaseEnv = z.output<typeof databaseEnvSchema>;
