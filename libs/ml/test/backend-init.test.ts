// Backend selection on a machine without the optional tfjs-node packages (this one, CI).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { Registry } from 'prom-client';
import { createLogger, FailedPreconditionError, InvalidArgumentError } from '@labelloop/common';
import { initBackend } from '../src/backend/init-backend.js';
import { ML_BACKEND_INFO, registerBackendMetric } from '../src/backend/backend-metric.js';

function captureLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({ service: 'test', destination: { write: (line: string) => lines.push(JSON.parse(line)) } });
  return { logger, lines };
}

describe('initBackend', () => {
  it('falls back to wasm when neither tfjs-node package is installed, and logs why', async () => {
    const { logger, lines } = captureLogger();
    const info = await initBackend({ logger, env: {} });
    assert.equal(info.name, 'wasm');
    assert.equal(tf.getBackend(), 'wasm');
    assert.match(info.reason, /@tensorflow\/tfjs-node-gpu is not installed/);
    assert.match(info.reason, /@tensorflow\/tfjs-node is not installed/);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!['backend'], 'wasm');
    assert.equal(lines[0]!['msg'], 'tfjs backend selected');
  });

  it('is idempotent: asking again returns the same backend without a new search', async () => {
    const { logger, lines } = captureLogger();
    const [a, b] = await Promise.all([initBackend({ logger, env: {} }), initBackend({ logger, env: {} })]);
    assert.equal(a.name, 'wasm');
    assert.equal(a, b);
    assert.equal(lines.length, 0);
  });

  it('exports the backend as labelloop_ml_backend_info', async () => {
    const registry = new Registry();
    const gauge = registerBackendMetric(registry);
    assert.equal(registerBackendMetric(registry), gauge);
    const text = await registry.metrics();
    assert.match(text, new RegExp(`^${ML_BACKEND_INFO}\\{backend="wasm"\\} 1$`, 'm'));
  });

  it('follows TFJS_BACKEND', async () => {
    const { logger } = captureLogger();
    const info = await initBackend({ logger, env: { TFJS_BACKEND: 'cpu' } });
    assert.deepEqual(info, { name: 'cpu', reason: 'forced by TFJS_BACKEND' });
    assert.equal(tf.getBackend(), 'cpu');
    const registry = new Registry();
    registerBackendMetric(registry);
    assert.match(await registry.metrics(), /labelloop_ml_backend_info\{backend="cpu"\} 1/);
    assert.doesNotMatch(await registry.metrics(), /backend="wasm"/);
  });

  it('refuses a forced backend that cannot start, and an unknown name', async () => {
    const { logger } = captureLogger();
    await assert.rejects(initBackend({ logger, env: { TFJS_BACKEND: 'tensorflow' } }), (err: Error) => {
      assert.ok(err instanceof FailedPreconditionError);
      assert.match(err.message, /TFJS_BACKEND=tensorflow cannot be used: @tensorflow\/tfjs-node is not installed/);
      return true;
    });
    await assert.rejects(initBackend({ logger, env: { TFJS_BACKEND: 'gpu' } }), InvalidArgumentError);
    assert.equal(tf.getBackend(), 'cpu');
  });

  it('starts from the preferred backend and falls back past it', async () => {
    const { logger } = captureLogger();
    const info = await initBackend({ logger, prefer: 'tensorflow', env: {} });
    assert.equal(info.name, 'wasm');
    assert.match(info.reason, /^preferred tensorflow; tensorflow: @tensorflow\/tfjs-node is not installed$/);
    assert.doesNotMatch(info.reason, /tfjs-node-gpu/);
    assert.equal(tf.getBackend(), 'wasm');
  });
});
