// The small database interface every service uses: `pg` against a real PostgreSQL server,
// or PGlite (PostgreSQL compiled to WASM) on a local folder as the embedded default.
// Same SQL on both; PGlite has a single connection, so transactions there are serialised.

export interface QueryResult<Row> {
  rows: Row[];
  rowCount: number;
}

export interface Queryable {
  /**
   * One statement with positional parameters ($1, $2, ...). Rows come back the same from
   * both drivers: int8 and numeric → number, timestamptz → Date, date → 'YYYY-MM-DD',
   * bytea → Buffer, json/jsonb → parsed value, uuid/text → string. Pass json/jsonb
   * parameters as JSON.stringify(value): pg would send a JS array as a PostgreSQL array.
   */
  query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>>;
  /** A script of one or more statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Database extends Queryable {
  /** 'pg' or 'pglite', for logs and metrics. */
  readonly kind: 'pg' | 'pglite';
  /**
   * Runs fn in one transaction: COMMIT when it resolves, ROLLBACK when it throws. Use only
   * `tx` inside fn: on PGlite (one connection) `db.query` waits until the transaction ends.
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Cheap liveness probe (SELECT 1). */
  ping(): Promise<void>;
  close(): Promise<void>;
}
