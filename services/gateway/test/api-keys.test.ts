import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '@labelloop/testing';
import { ApiKeyStore, generateApiKey, hashApiKey } from '../src/auth/api-key-store.js';
import { ADMIN_KEY_BANNER, seedAdminKey } from '../src/auth/seed-admin-key.js';
import { migrate } from '../src/database.js';

let testDb: TestDatabase;

before(async () => {
  testDb = await createTestDatabase();
  await migrate(testDb.db);
});
after(() => testDb?.close());

async function activeAdmins(): Promise<number> {
  const { rows } = await testDb.db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM gateway.api_keys WHERE role = 'admin' AND revoked_at IS NULL`,
  );
  return rows[0]!.n;
}

test('keys are llk_ + 32 random bytes and only their hash is stored', async () => {
  const key = generateApiKey();
  assert.match(key, /^llk_[A-Za-z0-9_-]{43}$/);
  assert.notEqual(generateApiKey(), key);
  const store = new ApiKeyStore(testDb.db);
  const created = await store.create('alice', 'labeller');
  const { rows } = await testDb.db.query<{ key_hash: string }>('SELECT key_hash FROM gateway.api_keys WHERE id = $1', [
    created.record.id,
  ]);
  assert.equal(rows[0]!.key_hash, hashApiKey(created.key));
  assert.ok(!JSON.stringify(rows).includes(created.key));
  assert.deepEqual(await store.authenticate(created.key), created.record);
  assert.equal(await store.authenticate(`${created.key}x`), undefined);
  assert.equal(await store.authenticate(''), undefined);
});

test('revocation on this instance is immediate despite the cache', async () => {
  const store = new ApiKeyStore(testDb.db, { cacheTtlMs: 60_000 });
  const { record, key } = await store.create('bob', 'viewer');
  assert.ok(await store.authenticate(key)); // now cached
  assert.equal((await store.revoke(record.id))?.id, record.id);
  assert.equal(await store.authenticate(key), undefined);
  assert.ok((await store.revoke(record.id))?.revokedAt, 'revoking twice is harmless');
  assert.equal(await store.revoke('00000000-0000-4000-8000-000000000000'), undefined);
});

test('another instance notices a revocation once its cache entry expires', async () => {
  let now = 1_000_000;
  const other = new ApiKeyStore(testDb.db, { cacheTtlMs: 30_000, now: () => now });
  const store = new ApiKeyStore(testDb.db);
  const { record, key } = await store.create('carol', 'viewer');
  assert.ok(await other.authenticate(key));
  await store.revoke(record.id);
  assert.ok(await other.authenticate(key), 'still cached on the other instance');
  now += 30_001;
  assert.equal(await other.authenticate(key), undefined);
});

test('without LABELLOOP_ADMIN_KEY an admin key is generated and printed once', async () => {
  // Start from no active admin key.
  await testDb.db.query(`UPDATE gateway.api_keys SET revoked_at = now() WHERE role = 'admin'`);
  const printed: string[] = [];
  assert.equal(await seedAdminKey(testDb.db, { print: (line) => printed.push(line) }), 'generated');
  assert.equal(printed.length, 1);
  const [banner, key] = [printed[0]!.slice(0, ADMIN_KEY_BANNER.length), printed[0]!.slice(ADMIN_KEY_BANNER.length + 1)];
  assert.equal(banner, 'labelloop admin API key (shown once):');
  const principal = await new ApiKeyStore(testDb.db).authenticate(key);
  assert.equal(principal?.role, 'admin');
  assert.equal(principal?.name, 'admin');

  assert.equal(await seedAdminKey(testDb.db, { print: (line) => printed.push(line) }), 'existing');
  assert.equal(printed.length, 1, 'a second start prints nothing');
  assert.equal(await activeAdmins(), 1);
});

test('LABELLOOP_ADMIN_KEY is seeded, kept, and re-activated after a revoke', async () => {
  const adminKey = 'operator-chosen-admin-key-0123456789';
  const printed: string[] = [];
  const print = (line: string) => printed.push(line);
  const store = new ApiKeyStore(testDb.db);
  assert.equal(await seedAdminKey(testDb.db, { adminKey, print }), 'configured-created');
  const principal = await store.authenticate(adminKey);
  assert.equal(principal?.role, 'admin');
  assert.equal(await seedAdminKey(testDb.db, { adminKey, print }), 'configured-present');
  await store.revoke(principal!.id);
  assert.equal(await seedAdminKey(testDb.db, { adminKey, print }), 'configured-reactivated');
  assert.equal((await store.authenticate(adminKey))?.id, principal!.id);
  assert.deepEqual(printed, [], 'a configured key is never printed');
});

test('replicas seeding at the same time generate one key', async () => {
  await testDb.db.query(`UPDATE gateway.api_keys SET revoked_at = now() WHERE role = 'admin'`);
  const printed: string[] = [];
  const outcomes = await Promise.all(
    [1, 2, 3].map(() => seedAdminKey(testDb.db, { print: (line) => printed.push(line) })),
  );
  assert.deepEqual(outcomes.sort(), ['existing', 'existing', 'generated']);
  assert.equal(printed.length, 1);
  assert.equal(await activeAdmins(), 1);
});
