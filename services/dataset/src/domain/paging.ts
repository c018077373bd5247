import { InvalidArgumentError } from '@labelloop/common';

// Keyset pagination over a `seq bigserial` column. The cursor is opaque to callers
// (base64url JSON `{v:1, after: seq}`) and checked on the way back in, so a forged or
// damaged one is a clear INVALID_ARGUMENT rather than a strange page.

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;

/** 0 (unset) → the default; above MAX_LIMIT is refused, not silently clamped. */
export function parseLimit(limit: number): number {
  if (limit === 0) return DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new InvalidArgumentError(`limit must be 1..${MAX_LIMIT}, got ${limit}`);
  }
  return limit;
}

export function encodeCursor(afterSeq: number): string {
  return Buffer.from(JSON.stringify({ v: 1, after: afterSeq }), 'utf8').toString('base64url');
}

/** '' → undefined (first page); the seq to continue after otherwise. */
export function decodeCursor(cursor: string): number | undefined {
  if (cursor === '') return undefined;
  const invalid = () =>
    new InvalidArgumentError('cursor is not valid; pass next_cursor from a previous response unchanged');
  if (cursor.length > 200 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalid();
  const { v, after, ...rest } = parsed as Record<string, unknown>;
  if (v !== 1 || Object.keys(rest).length > 0) throw invalid();
  if (typeof after !== 'number' || !Number.isSafeInteger(after) || after < 0) throw invalid();
  return after;
}

/** Splits a `limit + 1` fetch into the page and the cursor for the next one. */
export function pageOf<T extends { seq: number }>(rows: T[], limit: number): { page: T[]; nextCursor: string } {
  if (rows.length <= limit) return { page: rows, nextCursor: '' };
  const page = rows.slice(0, limit);
  return { page, nextCursor: encodeCursor(page[page.length - 1]!.seq) };
}
