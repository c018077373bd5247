import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@labelloop/common';
import type { Database, Queryable } from './database.js';

export interface MigrationOptions {
  /** The service's own schema, created when missing; holds schema_migrations. */
  schema: string;
  /** Folder of NNN_name.sql files, applied in number order starting at 1. */
  dir: string;
  logger?: Logger;
}

export interface Migration {
  version: number;
  /** The file name, e.g. 001_init.sql. */
  name: string;
  path: string;
}

const FILE_PATTERN = /^(\d+)_[\w.-]+\.sql$/;
const SCHEMA_PATTERN = /^[a-z_][a-z0-9_]*$/;

/** The migration files of a folder in order; rejects gaps, duplicates and odd names. */
export async function readMigrations(dir: string): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((file) => file.endsWith('.sql'));
  const migrations = files.map((name) => {
    const match = FILE_PATTERN.exec(name);
    if (!match) throw new Error(`migration file ${name} in ${dir} is not named NNN_name.sql`);
    return { version: Number(match[1]), name, path: join(dir, name) };
  });
  migrations.sort((a, b) => a.version - b.version);
  migrations.forEach((migration, index) => {
    const previous = migrations[index - 1];
    if (previous && previous.version === migration.version) {
      throw new Error(`migrations ${previous.name} and ${migration.name} in ${dir} share version ${migration.version}`);
    }
    if (migration.version !== index + 1) {
      throw new Error(`migration ${migration.name} in ${dir}: expected version ${index + 1} (versions start at 1 without gaps)`);
    }
  });
  return migrations;
}

/**
 * Applies the folder's migrations that the schema has not seen yet, each in its own
 * transaction together with its schema_migrations row, so a failing file leaves nothing
 * behind. Every transaction holds a transaction-level advisory lock on the schema name:
 * replicas starting together apply each file once, one after the other.
 * Files run with search_path set to the schema (then public), so unqualified names land in it.
 */
export async function runMigrations(db: Database, options: MigrationOptions): Promise<{ applied: string[] }> {
  const { schema, logger } = options;
  if (!SCHEMA_PATTERN.test(schema)) throw new Error(`invalid schema name ${JSON.stringify(schema)}`);
  const migrations = await readMigrations(options.dir);
  const table = `"${schema}".schema_migrations`;

  // Concurrent CREATE ... IF NOT EXISTS can still collide, hence under the lock as well.
  const done = await db.transaction(async (tx) => {
    await lock(tx, schema);
    await tx.exec(`
      CREATE SCHEMA IF NOT EXISTS "${schema}";
      CREATE TABLE IF NOT EXISTS ${table} (
        version int PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      );`);
    const rows = await tx.query<{ version: number }>(`SELECT version FROM ${table}`);
    return new Set(rows.rows.map((row) => row.version));
  });

  const applied: string[] = [];
  for (const migration of migrations.filter((m) => !done.has(m.version))) {
    const sql = await readFile(migration.path, 'utf8');
    const started = Date.now();
    const ran = await db.transaction(async (tx) => {
      await lock(tx, schema);
      // Another replica may have applied it while this one waited for the lock.
      const existing = await tx.query(`SELECT 1 FROM ${table} WHERE version = $1`, [migration.version]);
      if (existing.rowCount > 0) return false;
      await tx.exec(`SET LOCAL search_path TO "${schema}", public`);
      try {
        await tx.exec(sql);
      } catch (err) {
        throw new Error(`migration ${migration.name} (schema ${schema}) failed: ${(err as Error).message}`, { cause: err });
      }
      await tx.query(`INSERT INTO ${table} (version, name) VALUES ($1, $2)`, [migration.version, migration.name]);
      return true;
    });
    if (ran) {
      applied.push(migration.name);
      logger?.info({ schema, migration: migration.name, ms: Date.now() - started }, 'migration applied');
    }
  }
  logger?.info({ schema, applied: applied.length, total: migrations.length }, 'migrations up to date');
  return { applied };
}

async function lock(tx: Queryable, schema: string): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [schema]);
}
