import { type Database, openDatabase } from '@labelloop/storage';
import pg from 'pg';
import { makeTempDir, uniqueSuffix } from './temp-dir.js';

export interface TestDatabase {
  readonly db: Database;
  /** Set for real PostgreSQL: a fresh database created for this test. */
  readonly url?: string;
  /** Set for PGlite: its folder. */
  readonly pgliteDir?: string;
  close(): Promise<void>;
}

/** Same URL with another database name. */
function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/**
 * A database of its own for a test: with DATABASE_URL, a fresh PostgreSQL database created on that
 * server and dropped at close; without it, PGlite in a temp folder.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    const dir = makeTempDir('pglite');
    const db = await openDatabase({ pgliteDir: dir.path });
    return {
      db,
      pgliteDir: dir.path,
      close: async () => {
        await db.close();
        dir.remove();
      },
    };
  }
  const name = `labelloop_test_${uniqueSuffix()}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(serverUrl, name);
  const db = await openDatabase({ url, poolSize: 5 });
  return {
    db,
    url,
    close: async () => {
      await db.close();
      const dropper = new pg.Client({ connectionString: serverUrl });
      await dropper.connect();
      try {
        await dropper.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await dropper.end();
      }
    },
  };
}
