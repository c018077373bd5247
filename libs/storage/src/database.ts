// The small database interface every service uses: `pg` against a real PostgreSQL server,
// or PGlite (PostgreSQL compiled to WASM) on a local folder as the embedded default.
// Same SQL on both; PGlite has a single connection, so transactions there are serialised.

export interface QueryResult<Row> {
  rows: Row[];
  rowCount: number;
}

export interface Queryable {
  /** Positional parameters ($1, $2, ...). */
  query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>>;
}

export interface Database extends Queryable {
  /** 'pg' or 'pglite', for logs and metrics. */
  readonly kind: 'pg' | 'pglite';
  /** Runs fn in one transaction: COMMIT when it resolves, ROLLBACK when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Cheap liveness probe (SELECT 1). */
  ping(): Promise<void>;
  close(): Promise<void>;
}
