import { redactUrl, type Logger } from '@labelloop/common';
import type { Database } from './database.js';
import { PgDatabase } from './pg-database.js';
import { PGliteDatabase } from './pglite-database.js';

export interface OpenDatabaseOptions {
  /** postgres:// URL of a real server; wins over pgliteDir. */
  url?: string;
  /** Folder for the embedded PGlite database, used when no url is given. */
  pgliteDir?: string;
  /** pg pool size (ignored by PGlite, which has one connection). */
  poolSize?: number;
  /** pg statement_timeout in milliseconds. */
  statementTimeoutMillis?: number;
  logger?: Logger;
}

/** PostgreSQL when a URL is configured, else PGlite in a local folder. */
export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  const { url, pgliteDir, logger } = options;
  if (url) {
    const db = new PgDatabase({
      connectionString: url,
      max: options.poolSize,
      statementTimeoutMillis: options.statementTimeoutMillis,
      logger,
    });
    logger?.info({ kind: db.kind, url: redactUrl(url), poolSize: options.poolSize ?? 10 }, 'database configured');
    return db;
  }
  if (pgliteDir) {
    const db = await PGliteDatabase.open({ dataDir: pgliteDir, logger });
    logger?.info({ kind: db.kind, dataDir: pgliteDir }, 'database opened');
    return db;
  }
  throw new Error('no database configured: set DATABASE_URL (PostgreSQL) or PGLITE_DIR (embedded PGlite)');
}
