import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '@labelloop/common';
import { loadConfig } from '../src/config.js';

test('defaults', () => {
  const config = loadConfig({});
  assert.equal(config.PORT, 8080);
  assert.equal(config.DATASET_ADDR, '127.0.0.1:50051');
  assert.equal(config.DATABASE_URL, undefined);
  assert.equal(config.PGLITE_DIR, './.labelloop/pg/gateway');
  assert.equal(config.LABELLOOP_ADMIN_KEY, undefined);
  assert.equal(config.MAX_IMAGE_BYTES, 20 * 1024 ** 2);
  assert.equal(config.MAX_FILES_PER_UPLOAD, 1000);
  assert.equal(config.MAX_ARCHIVE_BYTES, 2 * 1024 ** 3);
  assert.equal(config.MAX_JSON_BYTES, 1024 ** 2);
  assert.equal(config.UPLOAD_CONCURRENCY, 8);
  assert.equal(config.RATE_LIMIT_PER_MINUTE, 6000);
  assert.equal(config.RATE_LIMIT_ANONYMOUS_PER_MINUTE, 300);
});

test('rate limits: 0 turns them off, junk is refused', () => {
  const config = loadConfig({ RATE_LIMIT_PER_MINUTE: '0', RATE_LIMIT_ANONYMOUS_PER_MINUTE: '20' });
  assert.equal(config.RATE_LIMIT_PER_MINUTE, 0);
  assert.equal(config.RATE_LIMIT_ANONYMOUS_PER_MINUTE, 20);
  assert.throws(() => loadConfig({ RATE_LIMIT_PER_MINUTE: '-1' }), /RATE_LIMIT_PER_MINUTE/);
  assert.throws(() => loadConfig({ RATE_LIMIT_ANONYMOUS_PER_MINUTE: 'lots' }), /RATE_LIMIT_ANONYMOUS_PER_MINUTE/);
});

test('values from the environment', () => {
  const config = loadConfig({
    PORT: '0',
    DATASET_ADDR: 'dataset:50051',
    DATABASE_URL: 'postgres://u:p@db/gw',
    MAX_IMAGE_BYTES: '5MiB',
    MAX_FILES_PER_UPLOAD: '10',
    UPLOAD_CONCURRENCY: '2',
    LABELLOOP_ADMIN_KEY: 'x'.repeat(32),
  });
  assert.equal(config.PORT, 0);
  assert.equal(config.DATASET_ADDR, 'dataset:50051');
  assert.equal(config.DATABASE_URL, 'postgres://u:p@db/gw');
  assert.equal(config.MAX_IMAGE_BYTES, 5 * 1024 ** 2);
  assert.equal(config.MAX_FILES_PER_UPLOAD, 10);
  assert.equal(config.UPLOAD_CONCURRENCY, 2);
  assert.equal(config.LABELLOOP_ADMIN_KEY, 'x'.repeat(32));
});

test('every bad variable is named in one error, and the admin key is not echoed', () => {
  const secret = 'short-secret';
  assert.throws(
    () => loadConfig({ PORT: 'eighty', MAX_IMAGE_BYTES: 'lots', UPLOAD_CONCURRENCY: '0', LABELLOOP_ADMIN_KEY: secret }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      const names = err.problems.map((p) => p.split(':')[0]);
      assert.deepEqual(names.sort(), ['LABELLOOP_ADMIN_KEY', 'MAX_IMAGE_BYTES', 'PORT', 'UPLOAD_CONCURRENCY']);
      assert.ok(!err.message.includes(secret));
      return true;
    },
  );
});
