import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '@labelloop/common';
import { DEFAULT_PGLITE_DIR, loadConfig } from '../src/config.js';

test('loadConfig: defaults with only NATS_URL set', () => {
  const config = loadConfig({ NATS_URL: 'nats://127.0.0.1:4222' });
  assert.equal(config.grpcPort, 50051);
  assert.equal(config.metricsPort, 9464);
  assert.equal(config.host, '0.0.0.0');
  assert.equal(config.logLevel, 'info');
  assert.deepEqual(config.database, { url: undefined, pgliteDir: DEFAULT_PGLITE_DIR, poolSize: 10 });
  assert.deepEqual(config.nats, { url: 'nats://127.0.0.1:4222', stream: 'LABELLOOP', subjectPrefix: 'labelloop' });
  assert.deepEqual(config.limits, {
    maxImageBytes: 20 * 1024 ** 2,
    maxImagePixels: 40_000_000,
    maxArchiveBytes: 2 * 1024 ** 3,
    maxArchiveEntries: 200_000,
    maxArchiveExpandedBytes: 8 * 1024 ** 3,
    maxCompressionRatio: 100,
  });
  assert.equal(config.s3.bucket, 'labelloop');
  assert.deepEqual(config.deletion, { retentionMs: 30 * 86_400_000, purgeIntervalMs: 3_600_000 });
});

test('loadConfig: values from the environment', () => {
  const config = loadConfig({
    NATS_URL: 'nats://nats:4222',
    GRPC_PORT: '0',
    DATABASE_URL: 'postgres://u:p@db:5432/labelloop',
    S3_ENDPOINT: 'http://minio:9000',
    S3_ACCESS_KEY_ID: 'k',
    S3_SECRET_ACCESS_KEY: 's',
    MAX_IMAGE_BYTES: '5MiB',
    MAX_ARCHIVE_BYTES: '1GB',
    MAX_COMPRESSION_RATIO: '50',
    EVENTS_SUBJECT_PREFIX: 'prod.labelloop',
    DATASET_RETENTION: '7d',
    PURGE_INTERVAL: '10m',
  });
  assert.deepEqual(config.deletion, { retentionMs: 7 * 86_400_000, purgeIntervalMs: 600_000 });
  assert.equal(config.grpcPort, 0);
  assert.equal(config.database.url, 'postgres://u:p@db:5432/labelloop');
  assert.equal(config.s3.endpoint, 'http://minio:9000');
  assert.equal(config.s3.forcePathStyle, true);
  assert.equal(config.limits.maxImageBytes, 5 * 1024 ** 2);
  assert.equal(config.limits.maxArchiveBytes, 1e9);
  assert.equal(config.limits.maxCompressionRatio, 50);
  assert.equal(config.nats.subjectPrefix, 'prod.labelloop');
});

test('loadConfig: one error naming every bad variable, NATS_URL required', () => {
  assert.throws(
    () => loadConfig({ GRPC_PORT: '99999', MAX_IMAGE_PIXELS: '-1', EVENTS_SUBJECT_PREFIX: 'a.>' }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /GRPC_PORT/);
      assert.match(err.message, /MAX_IMAGE_PIXELS/);
      assert.match(err.message, /EVENTS_SUBJECT_PREFIX/);
      assert.match(err.message, /NATS_URL: required/);
      return true;
    },
  );
});
