import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { ConfigError, parseConfig } from '@labelloop/common';
import { databaseEnvSchema, s3ConfigFromEnv, s3EnvSchema } from '../src/index.js';

const schema = z.object({ ...s3EnvSchema.shape, ...databaseEnvSchema.shape });

test('S3 defaults: AWS, us-east-1, bucket labelloop, virtual-hosted style, default credential chain', () => {
  assert.deepEqual(s3ConfigFromEnv(parseConfig(s3EnvSchema, {})), {
    endpoint: undefined,
    region: 'us-east-1',
    bucket: 'labelloop',
    accessKeyId: undefined,
    secretAccessKey: undefined,
    forcePathStyle: false,
  });
});

test('an S3 endpoint turns path style on unless told otherwise', () => {
  const env = {
    S3_ENDPOINT: 'http://minio:9000',
    S3_REGION: 'eu-west-1',
    S3_BUCKET: 'images.prod',
    S3_ACCESS_KEY_ID: 'key',
    S3_SECRET_ACCESS_KEY: 'secret',
  };
  assert.deepEqual(s3ConfigFromEnv(parseConfig(s3EnvSchema, env)), {
    endpoint: 'http://minio:9000',
    region: 'eu-west-1',
    bucket: 'images.prod',
    accessKeyId: 'key',
    secretAccessKey: 'secret',
    forcePathStyle: true,
  });
  assert.equal(s3ConfigFromEnv(parseConfig(s3EnvSchema, { ...env, S3_FORCE_PATH_STYLE: 'false' })).forcePathStyle, false);
  assert.equal(s3ConfigFromEnv(parseConfig(s3EnvSchema, { S3_FORCE_PATH_STYLE: '1' })).forcePathStyle, true);
  // Empty values (as templated manifests render them) count as unset.
  assert.equal(s3ConfigFromEnv(parseConfig(s3EnvSchema, { S3_ENDPOINT: '', S3_BUCKET: '' })).bucket, 'labelloop');
});

test('bad S3 values are named in one error; a lone key is refused', () => {
  assert.throws(
    () => parseConfig(s3EnvSchema, { S3_ENDPOINT: 'minio:9000x', S3_BUCKET: 'Bad_Bucket', S3_FORCE_PATH_STYLE: 'yes' }),
    (err: unknown) =>
      err instanceof ConfigError &&
      err.problems.length === 3 &&
      /S3_ENDPOINT/.test(err.message) &&
      /S3_BUCKET/.test(err.message) &&
      /S3_FORCE_PATH_STYLE/.test(err.message),
  );
  assert.throws(() => s3ConfigFromEnv(parseConfig(s3EnvSchema, { S3_ACCESS_KEY_ID: 'key' })), /set both or neither/);
});

test('database fragment: URL or PGlite folder, pool size, and a bad URL is not echoed', () => {
  assert.deepEqual(parseConfig(schema, { PGLITE_DIR: './data/pglite' }).PGLITE_DIR, './data/pglite');
  const parsed = parseConfig(schema, { DATABASE_URL: 'postgres://u:pw@db:5432/labelloop', DATABASE_POOL_SIZE: '20' });
  assert.equal(parsed.DATABASE_URL, 'postgres://u:pw@db:5432/labelloop');
  assert.equal(parsed.DATABASE_POOL_SIZE, 20);
  assert.equal(parseConfig(schema, {}).DATABASE_POOL_SIZE, 10);
  assert.equal(parseConfig(schema, { DATABASE_URL: '' }).DATABASE_URL, undefined);
  assert.throws(
    () => parseConfig(schema, { DATABASE_URL: 'mysql://u:topsecret@db/x', DATABASE_POOL_SIZE: '0' }),
    (err: unknown) =>
      err instanceof ConfigError && /DATABASE_URL/.test(err.message) && /DATABASE_POOL_SIZE/.test(err.message) && !/topsecret/.test(err.message),
  );
});
