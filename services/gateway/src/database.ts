// The gateway's own schema (API keys): migrations/ beside src/ and dist/ alike.
import { fileURLToPath } from 'node:url';
import type { Logger } from '@labelloop/common';
import { runMigrations, type Database } from '@labelloop/storage';

export const SCHEMA = 'gateway';
export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations', import.meta.url));

export function migrate(db: Database, logger?: Logger): Promise<{ applied: string[] }> {
  return runMigrations(db, { schema: SCHEMA, dir: MIGRATIONS_DIR, logger });
}
