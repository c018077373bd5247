import { UnavailableError } from '@labelloop/common';

// Connection-level failures become UnavailableError (gRPC UNAVAILABLE: the caller may retry);
// SQL errors (constraint violations etc.) pass through untouched so callers can read their
// SQLSTATE `code` (e.g. 23505 unique_violation) on both pg and PGlite.

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH']);
// 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now, 53300 too_many_connections.
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);
// Messages pg uses for connection problems that carry no code.
const CONNECTION_MESSAGES = [
  'timeout exceeded when trying to connect',
  'Connection terminated',
  'Client has encountered a connection error',
];

export function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code) || UNAVAILABLE_SQLSTATES.has(code) || code.startsWith('08')) return true;
  }
  return CONNECTION_MESSAGES.some((text) => err.message.includes(text));
}

export function toDatabaseError(err: unknown): unknown {
  if (err instanceof UnavailableError || !isConnectionError(err)) return err;
  const unavailable = new UnavailableError(`database unavailable: ${(err as Error).message}`, { dependency: 'database' });
  unavailable.cause = err;
  return unavailable;
}
