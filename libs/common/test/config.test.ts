import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import {
  booleanFromEnv,
  byteSizeSchema,
  ConfigError,
  durationMsSchema,
  logLevelSchema,
  parseConfig,
  portSchema,
} from '../src/index.js';

const schema = z.object({
  GRPC_PORT: portSchema(50051),
  LOG_LEVEL: logLevelSchema,
  DEBUG_SQL: booleanFromEnv(false),
  SHUTDOWN_TIMEOUT: durationMsSchema(10_000),
  MAX_UPLOAD: byteSizeSchema(20 * 1024 * 1024),
  DATABASE_URL: z.string().url(),
});

describe('parseConfig', () => {
  it('applies defaults for unset and empty variables', () => {
    const config = parseConfig(schema, { DATABASE_URL: 'postgres://h/db', LOG_LEVEL: '' });
    assert.deepEqual(config, {
      GRPC_PORT: 50051,
      LOG_LEVEL: 'info',
      DEBUG_SQL: false,
      SHUTDOWN_TIMEOUT: 10_000,
      MAX_UPLOAD: 20 * 1024 * 1024,
      DATABASE_URL: 'postgres://h/db',
    });
  });

  it('parses the fragments', () => {
    const config = parseConfig(schema, {
      GRPC_PORT: '0',
      LOG_LEVEL: 'DEBUG',
      DEBUG_SQL: '1',
      SHUTDOWN_TIMEOUT: '2.5s',
      MAX_UPLOAD: '512KB',
      DATABASE_URL: 'postgres://h/db',
    });
    assert.deepEqual(
      [config.GRPC_PORT, config.LOG_LEVEL, config.DEBUG_SQL, config.SHUTDOWN_TIMEOUT, config.MAX_UPLOAD],
      [0, 'debug', true, 2500, 512_000],
    );
    const sizes = z.object({ A: byteSizeSchema(0), B: byteSizeSchema(0), C: byteSizeSchema(0) });
    assert.deepEqual(parseConfig(sizes, { A: '20MiB', B: '1024', C: '1.5 GiB' }), {
      A: 20 * 1024 * 1024,
      B: 1024,
      C: 1.5 * 1024 ** 3,
    });
    const durations = z.object({ A: durationMsSchema(0), B: durationMsSchema(0), C: durationMsSchema(0) });
    assert.deepEqual(parseConfig(durations, { A: '250', B: '5m', C: '1h' }), { A: 250, B: 300_000, C: 3_600_000 });
  });

  it('reports every bad variable in one readable message', () => {
    const env = {
      GRPC_PORT: 'abc',
      LOG_LEVEL: 'loud',
      DEBUG_SQL: 'yes',
      SHUTDOWN_TIMEOUT: '10 parsecs',
      MAX_UPLOAD: '20 MiBs',
      DATABASE_URL: undefined,
    };
    assert.throws(
      () => parseConfig(schema, env),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.problems.length, 6);
        assert.match(err.message, /^Invalid configuration:\n {2}GRPC_PORT: expected a port number 0\.\.65535, got 'abc'\n/);
        assert.match(err.message, /\n {2}LOG_LEVEL: expected one of fatal\|error\|warn\|info\|debug\|trace\|silent, got 'loud'/);
        assert.match(err.message, /\n {2}DEBUG_SQL: expected 'true', 'false', '1' or '0', got 'yes'/);
        assert.match(err.message, /\n {2}SHUTDOWN_TIMEOUT: expected a duration .*, got '10 parsecs'/);
        assert.match(err.message, /\n {2}MAX_UPLOAD: expected a byte size .*, got '20 MiBs'/);
        assert.match(err.message, /\n {2}DATABASE_URL: required but not set$/);
        return true;
      },
    );
  });

  it('rejects ports above 65535 and does not echo values of other variables', () => {
    const secretSchema = z.object({ GRPC_PORT: portSchema(1), API_KEY: z.string().min(32) });
    assert.throws(
      () => parseConfig(secretSchema, { GRPC_PORT: '70000', API_KEY: 'short-secret' }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /GRPC_PORT: expected a port number 0\.\.65535, got '70000'/);
        assert.match(err.message, /API_KEY: /);
        assert.doesNotMatch(err.message, /short-secret/);
        return true;
      },
    );
  });
});
