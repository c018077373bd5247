import pg from 'pg';
import type { Logger } from '@labelloop/common';
import type { Database, Queryable, QueryResult } from './database.js';
import { toDatabaseError } from './database-errors.js';
import { PG_OIDS, mapArray, parseBytea, parseDate, parseInt8, parseNumeric } from './row-types.js';

export interface PgDatabaseOptions {
  connectionString: string;
  /** Pool size (default 10). */
  max?: number;
  /** Give up on getting a connection after this long (default 5000 ms). */
  connectionTimeoutMillis?: number;
  /** Close connections idle this long (default 30000 ms). */
  idleTimeoutMillis?: number;
  /** Server-side statement_timeout for every connection; unset = server default. */
  statementTimeoutMillis?: number;
  logger?: Logger;
}

const defaultParser = pg.types.getTypeParser as (oid: number, format?: 'text' | 'binary') => (value: string) => unknown;

// Per-pool parsers (pg's own `types.setTypeParser` would change every pool in the process).
const textParsers = new Map<number, (text: string) => unknown>([
  [PG_OIDS.int8, parseInt8],
  [PG_OIDS.numeric, parseNumeric],
  [PG_OIDS.date, parseDate],
  [PG_OIDS.bytea, parseBytea],
]);
for (const [arrayOid, elementParser] of [
  [PG_OIDS.int8Array, parseInt8],
  [PG_OIDS.numericArray, parseNumeric],
] as const) {
  const parseArray = defaultParser(arrayOid, 'text');
  textParsers.set(arrayOid, (text) => mapArray(parseArray(text), elementParser));
}

const typeConfig = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (format !== 'binary') {
      const parser = textParsers.get(oid);
      if (parser) return parser;
    }
    return defaultParser(oid, format);
  },
} as pg.CustomTypesConfig;

/** Database on a real PostgreSQL server through a `pg` pool. */
export class PgDatabase implements Database {
  readonly kind = 'pg' as const;
  private readonly pool: pg.Pool;
  private readonly logger: Logger | undefined;
  private closed = false;

  constructor(options: PgDatabaseOptions) {
    this.logger = options.logger;
    this.pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.max ?? 10,
      connectionTimeoutMillis: options.connectionTimeoutMillis ?? 5000,
      idleTimeoutMillis: options.idleTimeoutMillis ?? 30_000,
      statement_timeout: options.statementTimeoutMillis,
      types: typeConfig,
    });
    // An idle client whose server went away (restart, failover) emits 'error'; without a
    // listener that would crash the process. The pool has already dropped that client and
    // opens a fresh one on the next query.
    this.pool.on('error', (err) => {
      this.logger?.warn({ err }, 'idle database connection lost');
    });
  }

  async query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>> {
    try {
      // pool.query returns a client that failed mid-query to the pool as broken (destroyed).
      const result = await this.pool.query(sql, params as unknown[] | undefined);
      return toResult<Row>(result);
    } catch (err) {
      throw toDatabaseError(err);
    }
  }

  async exec(sql: string): Promise<void> {
    // Without parameters pg uses the simple query protocol, which accepts several statements
    // (and then answers with one result per statement, which exec does not need).
    try {
      await this.pool.query(sql);
    } catch (err) {
      throw toDatabaseError(err);
    }
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw toDatabaseError(err);
    }
    let open = true;
    let broken: Error | undefined;
    // A checked-out client whose connection dies emits 'error'; unheard, that is an uncaught
    // exception. Remember it so the client is destroyed instead of going back to the pool.
    const onError = (err: Error) => {
      broken = err;
      this.logger?.warn({ err }, 'database connection lost during a transaction');
    };
    client.on('error', onError);
    const tx: Queryable = {
      query: async <Row>(sql: string, params?: readonly unknown[]) => {
        if (!open) throw new Error('transaction is already finished');
        try {
          return toResult<Row>(await client.query(sql, params as unknown[] | undefined));
        } catch (err) {
          throw toDatabaseError(err);
        }
      },
      exec: async (sql: string) => {
        if (!open) throw new Error('transaction is already finished');
        try {
          await client.query(sql);
        } catch (err) {
          throw toDatabaseError(err);
        }
      },
    };
    try {
      await client.query('BEGIN');
      const result = await fn(tx);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      // A ROLLBACK that fails means the connection itself is gone: destroy it, do not pool it.
      await client.query('ROLLBACK').catch((rollbackErr: unknown) => {
        broken = rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr));
      });
      throw toDatabaseError(err);
    } finally {
      open = false;
      client.off('error', onError);
      client.release(broken);
    }
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}

function toResult<Row>(result: pg.QueryResult): QueryResult<Row> {
  return { rows: result.rows as Row[], rowCount: result.rowCount ?? result.rows.length };
}
