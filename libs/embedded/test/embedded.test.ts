import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { startEmbeddedS3, startNatsServer } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'labelloop-embedded-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

test('nats-server starts, stops and restarts on the same port', async () => {
  const nats = await startNatsServer({ dataDir: join(dir, 'nats') });
  assert.match(nats.url, /^nats:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(await canConnect(nats.port), true);
  await nats.stop();
  assert.equal(nats.running, false);
  assert.equal(await canConnect(nats.port), false);
  await nats.start();
  assert.equal(await canConnect(nats.port), true);
  await nats.kill();
  assert.equal(await canConnect(nats.port), false);
});

test('the embedded S3 server answers the S3 protocol over HTTP and restarts on its port', async () => {
  const s3 = await startEmbeddedS3({ dir: join(dir, 's3'), buckets: ['labelloop'] });
  const listBuckets = await fetch(`${s3.endpoint}/`);
  // Unsigned requests are refused with an S3 XML error, which proves an S3 server is answering.
  assert.equal(listBuckets.headers.get('content-type')?.includes('xml'), true);
  await s3.stop();
  await assert.rejects(fetch(`${s3.endpoint}/`));
  await s3.start();
  assert.equal((await fetch(`${s3.endpoint}/`)).status > 0, true);
  await s3.close();
});
