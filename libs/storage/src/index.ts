// @labelloop/storage: the database (pg | PGlite), migrations and the S3 blob store.
// Nothing here connects or opens anything on import.
export type { Database, Queryable, QueryResult } from './database.js';
export type { BlobInfo, BlobStore, PutOptions } from './blob-store.js';
export { PgDatabase, type PgDatabaseOptions } from './pg-database.js';
export { PGliteDatabase, type PGliteDatabaseOptions } from './pglite-database.js';
export { openDatabase, type OpenDatabaseOptions } from './open-database.js';
export { isConnectionError, retryOnConflict } from './database-errors.js';
export { readMigrations, runMigrations, type Migration, type MigrationOptions } from './migrations.js';
export { S3BlobStore, contentAddressedKey, type S3BlobStoreOptions, type S3Config } from './s3-blob-store.js';
export { s3EnvSchema, s3ConfigFromEnv, databaseEnvSchema, type S3Env, type DatabaseEnv } from './s3-config.js';
