import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { counterOn, createMetricsRegistry, startMetricsServer } from '../src/index.js';

describe('metrics', () => {
  it('serves GET /metrics in text format with default metrics and the service label', async () => {
    const registry = createMetricsRegistry('dataset');
    const counter = counterOn(registry, 'labelloop_test_events_total', 'test events', ['kind']);
    counter.inc({ kind: 'a' }, 2);
    // Asking again returns the same counter instead of throwing.
    assert.equal(counterOn(registry, 'labelloop_test_events_total', 'test events', ['kind']), counter);
    const server = await startMetricsServer({ registry, port: 0, host: '127.0.0.1' });
    try {
      const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
      const body = await res.text();
      assert.match(body, /labelloop_test_events_total\{kind="a",service="dataset"\} 2/);
      assert.match(body, /process_cpu_user_seconds_total\{service="dataset"\}/);
      assert.equal((await fetch(`http://127.0.0.1:${server.port}/other`)).status, 404);
      assert.equal((await fetch(`http://127.0.0.1:${server.port}/metrics`, { method: 'POST' })).status, 404);
    } finally {
      await server.close();
    }
  });
});
