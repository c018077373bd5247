// JSON logs with pino: one logger per process, `service` on every line, the current
// request id (if any) mixed in, and secrets redacted wherever they sit in the first
// three levels of a logged object.
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import type { LogLevel } from './config.js';
import { currentRequestId } from './request-context.js';

export type Logger = PinoLogger;

export interface CreateLoggerOptions {
  service: string;
  level?: LogLevel;
  /** Where lines go; default stdout. Tests pass a stream to read them back. */
  destination?: DestinationStream;
}

// Accessors in pino's redact path syntax (keys that are not identifiers in brackets).
const secretKeys = [
  '.authorization',
  '.cookie',
  '["x-api-key"]',
  '.apiKey',
  '.api_key',
  '.password',
  '.secretAccessKey',
  '.accessKeyId',
  '.token',
  '.adminKey',
];

/** pino redact paths: each secret key at the top level and one or two levels deep. */
export const redactPaths: readonly string[] = [
  ...secretKeys.flatMap((key) => [key.startsWith('.') ? key.slice(1) : key, `*${key}`, `*.*${key}`]),
  'req.headers.authorization',
];

export function createLogger(options: CreateLoggerOptions): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: options.service },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Level names read better in Loki/Grafana than pino's numbers.
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: [...redactPaths], censor: '[redacted]' },
      mixin: () => {
        const requestId = currentRequestId();
        return requestId === undefined ? {} : { requestId };
      },
    },
    options.destination,
  );
}

/**
 * Replaces the password of a connection URL with '***' so it can be logged:
 * postgres://u:secret@h/db → postgres://u:***@h/db. URLs without a password come back
 * unchanged. The last '@' before the query ends the user info, so an unencoded '@' or
 * '/' in the password is still hidden.
 */
export function redactUrl(url: string): string {
  const schemeEnd = url.indexOf('://');
  if (schemeEnd === -1) return url;
  const restStart = schemeEnd + 3;
  const beforeQuery = url.slice(restStart).split(/[?#]/, 1)[0] ?? '';
  const at = beforeQuery.lastIndexOf('@');
  if (at === -1) return url;
  const colon = beforeQuery.indexOf(':');
  if (colon === -1 || colon > at) return url;
  return `${url.slice(0, restStart + colon + 1)}***${url.slice(restStart + at)}`;
}
