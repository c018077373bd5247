// The databases the shared suites run against: PGlite in a temp folder always, and a fresh
// database on the PostgreSQL server named by DATABASE_URL when it is set.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openDatabase, type Database } from '../src/index.js';

export interface DbTarget {
  name: string;
  kind: 'pg' | 'pglite';
  /** Opens a new connection (pool) to the same database. */
  open(): Promise<Database>;
  /** For pg: the URL of the test database (with tests that need a second client). */
  url?: string;
  dispose(): Promise<void>;
}

export async function pgliteTarget(): Promise<DbTarget> {
  const dir = await mkdtemp(join(tmpdir(), 'labelloop-storage-'));
  let db: Database | undefined;
  return {
    name: 'PGlite',
    kind: 'pglite',
    // One PGlite per folder: the same instance is handed out again.
    open: async () => (db ??= await openDatabase({ pgliteDir: join(dir, 'pglite') })),
    dispose: async () => {
      await db?.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function postgresTarget(adminUrl: string): Promise<DbTarget> {
  const name = `labelloop_storage_test_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const opened: Database[] = [];
  return {
    name: 'PostgreSQL',
    kind: 'pg',
    url: url.toString(),
    open: async () => {
      const db = await openDatabase({ url: url.toString(), poolSize: 4 });
      opened.push(db);
      return db;
    },
    dispose: async () => {
      await Promise.all(opened.map((db) => db.close()));
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

export const databaseUrl = process.env.DATABASE_URL || undefined;
export const pgSkipNote = 'PostgreSQL (skipped: DATABASE_URL unset, PGlite only)';
