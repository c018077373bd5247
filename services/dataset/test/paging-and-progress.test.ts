import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { InvalidArgumentError } from '@labelloop/common';
import { MAX_CHUNK_BYTES, rechunk } from '../src/domain/export-dataset.js';
import { ImportProgress, MAX_IMPORT_ERRORS } from '../src/domain/import-progress.js';
import { decodeCursor, encodeCursor, pageOf, parseLimit } from '../src/domain/paging.js';

test('cursors round-trip and anything else is INVALID_ARGUMENT', () => {
  assert.equal(decodeCursor(encodeCursor(42)), 42);
  assert.equal(decodeCursor(''), undefined);
  for (const bad of [
    '%%%',
    'e30',
    encodeCursor(1).slice(0, -2),
    Buffer.from('{"v":1,"after":1.5}').toString('base64url'),
    'A'.repeat(300),
  ]) {
    assert.throws(() => decodeCursor(bad), InvalidArgumentError, bad);
  }
});

test('limits: 0 means 100, 1..1000 pass, more is refused rather than clamped', () => {
  assert.equal(parseLimit(0), 100);
  assert.equal(parseLimit(1), 1);
  assert.equal(parseLimit(1000), 1000);
  assert.throws(() => parseLimit(1001), /limit must be 1\.\.1000, got 1001/);
  assert.throws(() => parseLimit(5000), InvalidArgumentError);
});

test('pageOf: a cursor only when there is more', () => {
  const rows = [1, 2, 3].map((seq) => ({ seq }));
  assert.deepEqual(pageOf(rows, 3), { page: rows, nextCursor: '' });
  const { page, nextCursor } = pageOf(rows, 2);
  assert.deepEqual(page, rows.slice(0, 2));
  assert.equal(decodeCursor(nextCursor), 2);
});

test('import progress: due every 50 entries or 500 ms, errors capped, skipped files count as rejected', () => {
  let now = 0;
  const progress = new ImportProgress(
    2000,
    [{ fileName: 'README', code: 'unexpected_path', reason: 'r' }],
    50,
    500,
    () => now,
  );
  assert.deepEqual(
    { ...progress.snapshot(), errors: undefined },
    { total: 2000, processed: 1, created: 0, duplicates: 0, rejected: 1, errors: undefined },
  );
  for (let i = 0; i < 48; i++) progress.record('created');
  assert.equal(progress.isDue(), false);
  progress.record('duplicate');
  assert.equal(progress.isDue(), true);
  progress.take();
  assert.equal(progress.isDue(), false);
  now = 499;
  assert.equal(progress.isDue(), false);
  now = 500;
  assert.equal(progress.isDue(), true);
  for (let i = 0; i < MAX_IMPORT_ERRORS + 10; i++)
    progress.record('rejected', { fileName: `f${i}`, code: 'corrupt_image', reason: 'r' });
  const snapshot = progress.take();
  assert.equal(snapshot.errors.length, MAX_IMPORT_ERRORS);
  assert.equal(snapshot.rejected, MAX_IMPORT_ERRORS + 11);
  assert.equal(snapshot.processed, 50 + MAX_IMPORT_ERRORS + 10);
});

test('rechunk: pieces of exactly 256 KiB (the last shorter), bytes unchanged', async () => {
  const parts = [
    Buffer.alloc(10, 1),
    Buffer.alloc(MAX_CHUNK_BYTES, 2),
    Buffer.alloc(3 * MAX_CHUNK_BYTES + 5, 3),
    Buffer.alloc(7, 4),
  ];
  const out: Buffer[] = [];
  for await (const chunk of rechunk(Readable.from(parts))) out.push(chunk);
  assert.deepEqual(
    out.map((c) => c.length),
    [MAX_CHUNK_BYTES, MAX_CHUNK_BYTES, MAX_CHUNK_BYTES, MAX_CHUNK_BYTES, 22],
  );
  assert.ok(Buffer.concat(out).equals(Buffer.concat(parts)));
  const none: Buffer[] = [];
  for await (const chunk of rechunk(Readable.from([]))) none.push(chunk);
  assert.deepEqual(none, []);
});
