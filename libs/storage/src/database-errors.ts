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

// 40P01 deadlock_detected, 40001 serialization_failure: PostgreSQL aborted this transaction so
// that another could go on; running it again is the documented remedy.
const CONFLICT_SQLSTATES = new Set(['40P01', '40001']);

/**
 * Runs a transaction again (up to `attempts` times in all, after a short jittered pause) when
 * PostgreSQL aborts it for a deadlock or a serialization failure — e.g. two transactions locking
 * several rows in different orders. Any other error is thrown at once.
 */
export async function retryOnConflict<T>(run: () => Promise<T>, attempts = 4): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (err) {
      const code = (err as { code?: unknown } | null)?.code;
      if (attempt >= attempts || typeof code !== 'string' || !CONFLICT_SQLSTATES.has(code)) throw err;
      await new Promise((resolve) => setTimeout(resolve, 10 * attempt + Math.random() * 20));
    }
  }
}
