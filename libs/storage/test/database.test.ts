import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger, UnavailableError } from '@labelloop/common';
import { freePort } from '@labelloop/embedded';
import { openDatabase, PgDatabase, retryOnConflict, type Database } from '../src/index.js';
import { databaseUrl, pgliteTarget, pgSkipNote, postgresTarget, type DbTarget } from './targets.js';

const targets: Array<{ kind: 'pglite' | 'pg'; make: () => Promise<DbTarget> }> = [{ kind: 'pglite', make: pgliteTarget }];
if (databaseUrl) {
  const url = databaseUrl;
  targets.push({ kind: 'pg', make: () => postgresTarget(url) });
}
if (!databaseUrl) test(pgSkipNote, { skip: 'set DATABASE_URL to run the suite against PostgreSQL too' }, () => {});

for (const { kind, make } of targets) {
  describe(`database on ${kind}`, () => {
    let target: DbTarget;
    let db: Database;
    before(async () => {
      target = await make();
      db = await target.open();
      await db.exec(`
        CREATE TABLE shapes (
          id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
          big int8, num numeric, at timestamptz, bytes bytea, doc jsonb, plain json,
          label text, day date, bigs int8[]
        );
        CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL);`);
    });
    after(() => target.dispose());

    test('rows have the same shape on both drivers', async () => {
      assert.ok(['pg', 'pglite'].includes(db.kind));
      const at = new Date('2024-05-06T07:08:09.123Z');
      const inserted = await db.query<{ id: string }>(
        `INSERT INTO shapes (big, num, at, bytes, doc, plain, label, day, bigs)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
        [9007199254740991, '12.5', at, Buffer.from([0, 1, 255]), JSON.stringify({ a: [1, 2] }), JSON.stringify([1, 'x']), 'héllo', '2024-02-29', [1, 2, 3]],
      );
      const { id } = inserted.rows[0]!;
      assert.match(id, /^[0-9a-f-]{36}$/);
      const { rows } = await db.query('SELECT * FROM shapes WHERE id = $1', [id]);
      assert.deepEqual(rows, [
        {
          id,
          big: 9007199254740991,
          num: 12.5,
          at,
          bytes: Buffer.from([0, 1, 255]),
          doc: { a: [1, 2] },
          plain: [1, 'x'],
          label: 'héllo',
          day: '2024-02-29',
          bigs: [1, 2, 3],
        },
      ]);
      const row = rows[0]!;
      assert.ok(Buffer.isBuffer(row.bytes), 'bytea is a Buffer');
      assert.ok(row.at instanceof Date, 'timestamptz is a Date');
      const count = await db.query<{ n: unknown; total: unknown }>('SELECT count(*) AS n, sum(big) AS total FROM shapes');
      assert.deepEqual(count.rows, [{ n: 1, total: 9007199254740991 }]);
      const nulls = await db.query('SELECT NULL::int8 AS big, NULL::bytea AS bytes, NULL::jsonb AS doc');
      assert.deepEqual(nulls.rows, [{ big: null, bytes: null, doc: null }]);
    });

    test('an int8 beyond 2^53 is refused, not rounded, and the connection stays usable', async () => {
      await assert.rejects(db.query('SELECT 9007199254740993::int8 AS big'), RangeError);
      await db.ping();
    });

    test('rowCount counts returned rows for SELECT and affected rows for writes', async () => {
      assert.equal((await db.query('INSERT INTO notes VALUES (1, $1), (2, $2)', ['a', 'b'])).rowCount, 2);
      assert.equal((await db.query('UPDATE notes SET body = body WHERE id = 99')).rowCount, 0);
      assert.equal((await db.query('DELETE FROM notes WHERE id = 2')).rowCount, 1);
      assert.equal((await db.query('SELECT * FROM notes')).rowCount, 1);
      await db.query('DELETE FROM notes');
    });

    test('a transaction commits when fn resolves', async () => {
      const result = await db.transaction(async (tx) => {
        await tx.query('INSERT INTO notes VALUES (10, $1)', ['kept']);
        await tx.exec("INSERT INTO notes VALUES (11, 'a'); INSERT INTO notes VALUES (12, 'b');");
        return 'done';
      });
      assert.equal(result, 'done');
      const { rows } = await db.query('SELECT id FROM notes WHERE id >= 10 ORDER BY id');
      assert.deepEqual(rows, [{ id: 10 }, { id: 11 }, { id: 12 }]);
    });

    test('a transaction rolls back when fn throws, rethrowing its error', async () => {
      await assert.rejects(
        db.transaction(async (tx) => {
          await tx.query('INSERT INTO notes VALUES (20, $1)', ['gone']);
          throw new Error('boom');
        }),
        /boom/,
      );
      assert.equal((await db.query('SELECT 1 FROM notes WHERE id = 20')).rowCount, 0);
    });

    test('a SQL error rolls back and keeps its SQLSTATE; tx is unusable afterwards', async () => {
      let leaked: { query: Database['query'] } | undefined;
      const failure = await db
        .transaction(async (tx) => {
          leaked = tx;
          await tx.query('INSERT INTO notes VALUES (30, $1)', ['first']);
          await tx.query('INSERT INTO notes VALUES (30, $1)', ['duplicate']);
        })
        .catch((err: unknown) => err);
      assert.equal((failure as { code?: string }).code, '23505');
      assert.equal((await db.query('SELECT 1 FROM notes WHERE id = 30')).rowCount, 0);
      await assert.rejects(leaked!.query('SELECT 1'));
    });

    test('a query issued during a slow transaction neither sees its data nor rolls back with it', async () => {
      let inserted!: () => void;
      const insertedOnce = new Promise<void>((resolve) => (inserted = resolve));
      const events: string[] = [];
      const slow = db.transaction(async (tx) => {
        await tx.query('INSERT INTO notes VALUES (40, $1)', ['uncommitted']);
        inserted();
        await sleep(300);
        events.push('transaction finishing');
        throw new Error('roll it back');
      });
      await insertedOnce;
      const [read, write] = await Promise.all([
        db.query('SELECT id FROM notes WHERE id = 40').then((r) => (events.push('read done'), r)),
        db.query('INSERT INTO notes VALUES (41, $1)', ['outside']),
        assert.rejects(slow, /roll it back/),
      ]);
      assert.equal(read.rowCount, 0, 'uncommitted row is invisible');
      assert.equal(write.rowCount, 1);
      const { rows } = await db.query('SELECT id FROM notes WHERE id IN (40, 41) ORDER BY id');
      assert.deepEqual(rows, [{ id: 41 }], 'the outside insert survives the rollback');
      if (db.kind === 'pglite') {
        // One connection: the plain query waits for the transaction instead of joining it.
        assert.deepEqual(events, ['transaction finishing', 'read done']);
      }
    });

    if (kind === 'pg') test('the pool survives its connections being killed (as by a server restart)', async () => {
      const other = await target.open();
      await Promise.all([other.query('SELECT pg_sleep(0.05)'), other.query('SELECT pg_sleep(0.05)')]);
      const killer = await target.open();
      const killAll = () =>
        killer.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
      await killAll();
      await sleep(100);
      assert.deepEqual((await other.query('SELECT 1 AS one')).rows, [{ one: 1 }]);
      // Killed in the middle of a transaction: the transaction fails, its client is discarded.
      await assert.rejects(
        other.transaction(async (tx) => {
          await tx.query('SELECT 1');
          await killAll();
          await tx.query('SELECT 1');
        }),
        UnavailableError,
      );
      for (let i = 0; i < 6; i++) await other.query('SELECT 1');
      await other.transaction(async (tx) => tx.query('SELECT 1'));
    });
  });
}

test('an unreachable PostgreSQL gives UnavailableError without the password', async () => {
  const port = await freePort();
  const db = new PgDatabase({ connectionString: `postgres://someone:hunter2@127.0.0.1:${port}/nothing`, connectionTimeoutMillis: 2000 });
  try {
    const err = await db.query('SELECT 1').catch((e: unknown) => e);
    assert.ok(err instanceof UnavailableError, String(err));
    assert.match(err.message, /database unavailable: .*ECONNREFUSED/);
    assert.deepEqual(err.details, { dependency: 'database' });
    assert.doesNotMatch(err.message, /hunter2/);
    await assert.rejects(db.transaction(async () => 1), UnavailableError);
  } finally {
    await db.close();
  }
});

test('openDatabase logs the kind and a redacted URL, and needs a URL or a folder', async () => {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const logger = createLogger({ service: 'storage-test', destination });
  const db = await openDatabase({ url: 'postgres://someone:hunter2@127.0.0.1:1/db', logger });
  assert.equal(db.kind, 'pg');
  await db.close();
  const logged = lines.join('');
  assert.match(logged, /"kind":"pg"/);
  assert.match(logged, /someone:\*\*\*@127\.0\.0\.1/);
  assert.doesNotMatch(logged, /hunter2/);
  await assert.rejects(openDatabase({}), /DATABASE_URL.*PGLITE_DIR/);
});

describe('retryOnConflict', () => {
  test('passes other errors through at once, and gives up after its attempts', async () => {
    let runs = 0;
    const unique = Object.assign(new Error('duplicate key'), { code: '23505' });
    await assert.rejects(retryOnConflict(async () => (runs++, Promise.reject(unique))), unique);
    assert.equal(runs, 1);
    runs = 0;
    const deadlock = Object.assign(new Error('deadlock detected'), { code: '40P01' });
    await assert.rejects(retryOnConflict(async () => (runs++, Promise.reject(deadlock)), 3), deadlock);
    assert.equal(runs, 3);
  });

  test(
    'PostgreSQL: two transactions locking two rows in opposite orders — the one aborted for the deadlock runs again, both commit',
    { skip: databaseUrl ? false : 'set DATABASE_URL: PGlite has one connection, so no deadlock' },
    async () => {
      const target = await postgresTarget(databaseUrl!);
      try {
        const db = await target.open();
        await db.exec('CREATE TABLE counters (id int PRIMARY KEY, n int NOT NULL); INSERT INTO counters VALUES (1, 0), (2, 0);');
        const codes: string[] = [];
        let runs = 0;
        const bumpBoth = (first: number, second: number) =>
          retryOnConflict(async () => {
            runs++;
            try {
              await db.transaction(async (tx) => {
                await tx.query('UPDATE counters SET n = n + 1 WHERE id = $1', [first]);
                await sleep(300); // both now hold their first row
                await tx.query('UPDATE counters SET n = n + 1 WHERE id = $1', [second]);
              });
            } catch (err) {
              codes.push(String((err as { code?: unknown }).code));
              throw err;
            }
          });
        await Promise.all([bumpBoth(1, 2), bumpBoth(2, 1)]);
        assert.deepEqual(codes, ['40P01'], 'one transaction was aborted for the deadlock');
        assert.equal(runs, 3);
        const { rows } = await db.query<{ id: number; n: number }>('SELECT id, n FROM counters ORDER BY id');
        assert.deepEqual(rows, [
          { id: 1, n: 2 },
          { id: 2, n: 2 },
        ]);
      } finally {
        await target.dispose();
      }
    },
  );
});
