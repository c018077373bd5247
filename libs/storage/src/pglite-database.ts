import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import type { Logger } from '@labelloop/common';
import type { Database, Queryable, QueryResult } from './database.js';
import { PG_OIDS, parseBytea, parseDate, parseInt8, parseNumeric } from './row-types.js';

export interface PGliteDatabaseOptions {
  /** Folder holding the database files; created when missing. */
  dataDir: string;
  logger?: Logger;
}

// PGlite builds its array parsers from these element parsers, so int8[] and numeric[]
// follow along without entries of their own.
const parsers = {
  [PG_OIDS.int8]: parseInt8,
  [PG_OIDS.numeric]: parseNumeric,
  [PG_OIDS.date]: parseDate,
  [PG_OIDS.bytea]: parseBytea,
};
const serializers = {
  // PGlite's own bytea serializer formats byte by byte, which is slow for large values.
  [PG_OIDS.bytea]: (value: Uint8Array) => `\\x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}`,
};

interface PGliteResults {
  rows: unknown[];
  affectedRows?: number;
}

/**
 * Database on PGlite (PostgreSQL in WASM) in a local folder: the embedded default.
 * PGlite has one connection. Its query() waits while a transaction() runs, so plain queries
 * never interleave into an open transaction — but calling `db.query` (instead of `tx.query`)
 * from inside a transaction callback therefore waits forever.
 */
export class PGliteDatabase implements Database {
  readonly kind = 'pglite' as const;

  private constructor(private readonly pglite: PGlite) {}

  static async open(options: PGliteDatabaseOptions): Promise<PGliteDatabase> {
    await mkdir(options.dataDir, { recursive: true });
    const started = Date.now();
    const pglite = await PGlite.create(options.dataDir, { parsers, serializers });
    options.logger?.debug({ dataDir: options.dataDir, ms: Date.now() - started }, 'pglite opened');
    return new PGliteDatabase(pglite);
  }

  async query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>> {
    return toResult<Row>(await this.pglite.query(sql, params ? [...params] : undefined));
  }

  async exec(sql: string): Promise<void> {
    await this.pglite.exec(sql);
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    // PGlite's transaction() holds its transaction lock (which query() also takes) from
    // BEGIN to COMMIT/ROLLBACK, and rolls back when fn throws.
    return this.pglite.transaction(async (pgliteTx) => {
      const tx: Queryable = {
        query: async <Row>(sql: string, params?: readonly unknown[]) =>
          toResult<Row>(await pgliteTx.query(sql, params ? [...params] : undefined)),
        exec: async (sql: string) => {
          await pgliteTx.exec(sql);
        },
      };
      return fn(tx);
    });
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1');
  }

  async close(): Promise<void> {
    if (!this.pglite.closed) await this.pglite.close();
  }
}

function toResult<Row>(result: PGliteResults): QueryResult<Row> {
  // PGlite reports affectedRows only for INSERT/UPDATE/DELETE/...; pg's rowCount is the row
  // count for SELECT too, so fall back to it for the same shape.
  const rowCount = result.affectedRows ? result.affectedRows : result.rows.length;
  return { rows: result.rows as Row[], rowCount };
}
