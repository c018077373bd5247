import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer, type AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { InvalidArgumentError, NotFoundError, UnavailableError } from '@labelloop/common';
import { EMBEDDED_S3_CREDENTIALS, freePort, startEmbeddedS3, type EmbeddedS3 } from '@labelloop/embedded';
import { contentAddressedKey, S3BlobStore, type BlobInfo } from '../src/index.js';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** A stream of unknown length, in uneven chunks, as an HTTP upload would arrive. */
function chunked(data: Buffer, chunkSize = 100_003): Readable {
  const chunks: Buffer[] = [];
  for (let at = 0; at < data.length; at += chunkSize) chunks.push(data.subarray(at, at + chunkSize));
  return Readable.from(chunks);
}

async function collect(items: AsyncIterable<BlobInfo>): Promise<BlobInfo[]> {
  const all: BlobInfo[] = [];
  for await (const item of items) all.push(item);
  return all;
}

describe('S3BlobStore against s3rver over HTTP', () => {
  let dir: string;
  let s3: EmbeddedS3;
  let store: S3BlobStore;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'labelloop-s3-'));
    s3 = await startEmbeddedS3({ dir });
    store = new S3BlobStore(
      { endpoint: s3.endpoint, region: 'us-east-1', bucket: 'blobs', forcePathStyle: true, ...EMBEDDED_S3_CREDENTIALS },
      { listPageSize: 3 },
    );
    await assert.rejects(store.ping(), /object storage unavailable: bucket blobs does not exist/);
    await store.ensureBucket();
    await store.ensureBucket();
    await store.ping();
  });
  after(async () => {
    await store.close();
    await s3.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('put, head, get, delete a buffer', async () => {
    const data = Buffer.from('hello, labelloop');
    await store.put('a/hello.txt', data, { contentType: 'text/plain' });
    assert.deepEqual(await store.head('a/hello.txt'), { key: 'a/hello.txt', size: data.length, contentType: 'text/plain' });
    assert.deepEqual(await store.getBuffer('a/hello.txt'), data);
    const chunks: Buffer[] = [];
    for await (const chunk of await store.getStream('a/hello.txt')) chunks.push(chunk as Buffer);
    assert.deepEqual(Buffer.concat(chunks), data);
    await store.delete('a/hello.txt');
    assert.equal(await store.head('a/hello.txt'), undefined);
  });

  test('a missing key: NotFoundError on get, undefined on head, no error on delete', async () => {
    await assert.rejects(store.getBuffer('missing/key'), (err: unknown) => err instanceof NotFoundError && /missing\/key/.test(err.message));
    await assert.rejects(store.getStream('missing/key'), NotFoundError);
    assert.equal(await store.head('missing/key'), undefined);
    await store.delete('missing/key');
  });

  test('list follows pagination and stays inside the prefix', async () => {
    const keys = Array.from({ length: 8 }, (_, i) => `list/p/${String(i).padStart(2, '0')}`);
    await Promise.all(keys.map((key, i) => store.put(key, Buffer.alloc(i + 1, 7))));
    await store.put('list/q/other', Buffer.from('x'));
    await store.put('list/pp', Buffer.from('x'));
    const listed = await collect(store.list('list/p/'));
    // 8 keys with a page size of 3: three ListObjects calls, each continuing after the last key.
    assert.deepEqual(listed, keys.map((key, i) => ({ key, size: i + 1 })));
    assert.deepEqual(await collect(store.list('list/none/')), []);
    assert.equal((await collect(store.list('list/'))).length, 10);
  });

  test('a streamed upload of several MB (multipart) round-trips byte-exact', async () => {
    const data = randomBytes(6 * 1024 * 1024 + 12_345);
    await store.put('big/multipart.bin', chunked(data), { contentType: 'application/octet-stream' });
    const back = await store.getBuffer('big/multipart.bin');
    assert.equal(back.length, data.length);
    assert.equal(sha256(back), sha256(data));
    assert.equal((await store.head('big/multipart.bin'))?.size, data.length);
  });

  test('a stream that fits one part goes up byte-exact', async () => {
    const data = randomBytes(2 * 1024 * 1024 + 1);
    await store.put('big/single.bin', chunked(data, 65_536));
    assert.equal(sha256(await store.getBuffer('big/single.bin')), sha256(data));
    const small = Buffer.from('tiny stream');
    await store.put('big/tiny.bin', chunked(small, 4));
    assert.deepEqual(await store.getBuffer('big/tiny.bin'), small);
  });

  test('a connection cut during a streamed upload: the upload starts again and lands byte-exact', async () => {
    // A proxy that resets the first connection once 256 KiB of the request went through — what a
    // dropped connection or a keep-alive socket the server just closed does to an upload.
    const target = new URL(s3.endpoint);
    let connections = 0;
    const proxy = createServer((client) => {
      connections++;
      const upstream = connect(Number(target.port), target.hostname);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
      if (connections === 1) {
        let forwarded = 0;
        client.on('data', (chunk: Buffer) => {
          forwarded += chunk.length;
          if (forwarded > 256 * 1024 && !client.destroyed) {
            client.resetAndDestroy();
            upstream.destroy();
          }
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const viaProxy = new S3BlobStore({
      endpoint: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
      region: 'us-east-1',
      bucket: 'blobs',
      forcePathStyle: true,
      ...EMBEDDED_S3_CREDENTIALS,
    });
    try {
      const data = randomBytes(1024 * 1024 + 7);
      const started = performance.now();
      await viaProxy.put('cut/archive.zip', chunked(data, 65_536));
      assert.ok(connections >= 2, `the first connection was cut and the upload made another (${connections})`);
      assert.ok(performance.now() - started < 10_000, 'retried at once, not after a socket timeout');
      assert.equal(sha256(await store.getBuffer('cut/archive.zip')), sha256(data));
    } finally {
      await viaProxy.close();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  test('content-addressed keys put the same bytes at the same key', async () => {
    const data = Buffer.from('an image');
    const key = contentAddressedKey('ds1', sha256(data));
    assert.equal(key, `datasets/ds1/items/${sha256(data)}`);
    await store.put(key, data);
    await store.put(key, data);
    assert.equal((await collect(store.list('datasets/ds1/items/'))).length, 1);
    assert.throws(() => contentAddressedKey('ds1', 'ABC'), InvalidArgumentError);
    assert.throws(() => contentAddressedKey('a/b', sha256(data)), InvalidArgumentError);
  });

  test('S3 going away gives UnavailableError; coming back on the same port works again', async () => {
    await s3.stop();
    try {
      await assert.rejects(store.head('a/anything'), UnavailableError);
      await assert.rejects(store.ping(), UnavailableError);
    } finally {
      await s3.start();
    }
    await store.ping();
    await store.put('after/restart', Buffer.from('ok'));
    assert.deepEqual(await store.getBuffer('after/restart'), Buffer.from('ok'));
  });
});

test('an unreachable endpoint fails with UnavailableError within 10 s, without credentials', async () => {
  const port = await freePort();
  const store = new S3BlobStore({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    bucket: 'blobs',
    forcePathStyle: true,
    accessKeyId: 'AKIAEXAMPLEKEYID',
    secretAccessKey: 'wJalrXUtnFEMIexampleSECRET',
  });
  try {
    const started = Date.now();
    const failures = await Promise.all([
      store.put('k', Buffer.from('x')).catch((err: unknown) => err),
      store.getBuffer('k').catch((err: unknown) => err),
      store.head('k').catch((err: unknown) => err),
      store.ping().catch((err: unknown) => err),
      collect(store.list('')).catch((err: unknown) => err),
    ]);
    assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
    for (const err of failures) {
      assert.ok(err instanceof UnavailableError, String(err));
      assert.match(err.message, /^object storage unavailable: .*ECONNREFUSED/);
      assert.deepEqual(err.details, { dependency: 'object storage' });
      assert.doesNotMatch(err.message, /AKIAEXAMPLEKEYID|wJalrXUtnFEMIexampleSECRET/);
    }
  } finally {
    await store.close();
  }
});
