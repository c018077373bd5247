import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { test } from 'node:test';
import { ConfigError } from '@labelloop/common';
import { loadConfig } from '../src/config.js';

test('defaults: ports 50053/9466, scoring on with 256-item shards and a 5-minute lease, worker named after the host', () => {
  const c = loadConfig({ NATS_URL: 'nats://127.0.0.1:4222' });
  assert.equal(c.grpcPort, 50053);
  assert.equal(c.metricsPort, 9466);
  assert.equal(c.datasetAddr, '127.0.0.1:50051');
  assert.equal(c.trainerAddr, '127.0.0.1:50052');
  assert.ok(c.workers >= 1);
  assert.deepEqual(c.scoring, { enabled: true, pollIntervalMs: 2000, leaseMs: 300_000, shardSize: 256, workerName: `${hostname()}-${process.pid}` });
  assert.equal(c.s3.bucket, 'labelloop');
});

test('explicit values are parsed; bad ones are named together', () => {
  const c = loadConfig({
    NATS_URL: 'nats://n:4222',
    INFERENCE_WORKERS: '3',
    SCORING_ENABLED: 'false',
    SCORING_POLL_INTERVAL: '500ms',
    SCORING_LEASE: '2m',
    SCORING_SHARD_SIZE: '64',
    WORKER_NAME: 'inference-0',
    TRAINER_ADDR: 'trainer:50052',
  });
  assert.equal(c.workers, 3);
  assert.deepEqual(c.scoring, { enabled: false, pollIntervalMs: 500, leaseMs: 120_000, shardSize: 64, workerName: 'inference-0' });
  assert.equal(c.trainerAddr, 'trainer:50052');

  assert.throws(
    () => loadConfig({ INFERENCE_WORKERS: '0', SCORING_LEASE: '1s', SCORING_SHARD_SIZE: '2001', DATASET_ADDR: 'nope', SCORING_ENABLED: 'maybe' }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      for (const name of ['NATS_URL', 'INFERENCE_WORKERS', 'SCORING_LEASE', 'SCORING_SHARD_SIZE', 'DATASET_ADDR', 'SCORING_ENABLED']) {
        assert.ok(err.problems.some((p) => p.startsWith(`${name}:`)), `${name} in ${err.message}`);
      }
      return true;
    },
  );
});
