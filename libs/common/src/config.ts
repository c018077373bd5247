// Configuration from environment variables: one zod schema per service, parsed once by
// the service's `loadConfig(env)` (never at import time), failing with one message that
// names every bad variable.
import { z } from 'zod';

/** Thrown by parseConfig; the message lists every invalid variable, one per line. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Parses `env` with `schema` (usually a z.object keyed by variable name).
 * Values are not echoed for arbitrary variables (they may be secrets); the fragments
 * below quote the bad value because theirs are harmless.
 */
export function parseConfig<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
): z.output<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.map(String).join('.') || '(root)';
    const top = issue.path[0];
    const missing =
      issue.code === 'invalid_type' && typeof top === 'string' && issue.path.length === 1 && env[top] === undefined;
    return `${name}: ${missing ? 'required but not set' : issue.message}`;
  });
  throw new ConfigError(problems);
}

/**
 * Builds a schema for one optional variable: unset or empty → `defaultValue`, otherwise
 * `parse(raw)`; `undefined` from parse means invalid and reports
 * "expected <expected>, got '<raw>'".
 */
export function envValueSchema<T>(defaultValue: T, expected: string, parse: (raw: string) => T | undefined) {
  return z
    .string()
    .optional()
    .transform((raw, ctx): T => {
      const trimmed = raw?.trim();
      if (trimmed === undefined || trimmed === '') return defaultValue;
      const value = parse(trimmed);
      if (value === undefined) {
        ctx.issues.push({ code: 'custom', message: `expected ${expected}, got '${trimmed}'`, input: raw });
        return z.NEVER;
      }
      return value;
    });
}

/** A whole number ≥ 1 (counts, limits, worker numbers). */
export function positiveIntegerSchema(defaultValue: number) {
  return envValueSchema(defaultValue, 'a positive integer', (raw) => {
    const value = Number(raw);
    return /^\d+$/.test(raw) && Number.isSafeInteger(value) && value > 0 ? value : undefined;
  });
}

/** A string that must match `pattern` (host names, addresses, stream names); `expected` says what in words. */
export function patternSchema(defaultValue: string, expected: string, pattern: RegExp) {
  return envValueSchema(defaultValue, expected, (raw) => (pattern.test(raw) ? raw : undefined));
}

/** A TCP port, 0..65535 (0 = pick a free one, for tests). */
export function portSchema(defaultPort: number) {
  return envValueSchema(defaultPort, 'a port number 0..65535', (raw) => {
    if (!/^\d{1,5}$/.test(raw)) return undefined;
    const port = Number(raw);
    return port <= 65535 ? port : undefined;
  });
}

export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];

/** LOG_LEVEL: one of pino's levels, default 'info'. */
export const logLevelSchema = envValueSchema<LogLevel>('info', `one of ${logLevels.join('|')}`, (raw) => {
  const level = raw.toLowerCase();
  return (logLevels as readonly string[]).includes(level) ? (level as LogLevel) : undefined;
});

/** 'true' / 'false' / '1' / '0' (any case). */
export function booleanFromEnv(defaultValue: boolean) {
  return envValueSchema(defaultValue, "'true', 'false', '1' or '0'", (raw) => {
    const value = raw.toLowerCase();
    if (value === 'true' || value === '1') return true;
    if (value === 'false' || value === '0') return false;
    return undefined;
  });
}

const durationUnits: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration in milliseconds: '1500', '1500ms', '30s', '5m', '1h', '30d', '0.5s'. */
export function durationMsSchema(defaultMs: number) {
  return envValueSchema(defaultMs, "a duration such as '500ms', '30s', '5m', '30d' or a number of milliseconds", (raw) => {
    const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/i.exec(raw);
    if (!match) return undefined;
    return Math.round(Number(match[1]) * durationUnits[(match[2] ?? 'ms').toLowerCase()]!);
  });
}

// KB/MB/GB are decimal, KiB/MiB/GiB binary, as everywhere else.
const byteUnits: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

/** A size in bytes: '20MiB', '512KB', '1.5GB', '1048576'. */
export function byteSizeSchema(defaultBytes: number) {
  return envValueSchema(defaultBytes, "a byte size such as '512KB', '20MiB' or a number of bytes", (raw) => {
    const match = /^(\d+(?:\.\d+)?)\s*([a-z]+)?$/i.exec(raw);
    if (!match) return undefined;
    const factor = byteUnits[(match[2] ?? 'b').toLowerCase()];
    if (factor === undefined) return undefined;
    return Math.floor(Number(match[1]) * factor);
  });
}
