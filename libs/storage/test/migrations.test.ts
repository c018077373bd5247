import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { readMigrations, runMigrations, type Database } from '../src/index.js';
import { databaseUrl, pgliteTarget, pgSkipNote, postgresTarget, type DbTarget } from './targets.js';

let scratch: string;
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'labelloop-migrations-'));
});
after(() => rm(scratch, { recursive: true, force: true }));

let dirCount = 0;
async function migrationDir(files: Record<string, string>): Promise<string> {
  const dir = join(scratch, `m${dirCount++}`);
  await mkdir(dir);
  for (const [name, sql] of Object.entries(files)) await writeFile(join(dir, name), sql);
  return dir;
}

const INIT = {
  '001_init.sql': 'CREATE TABLE items (id int PRIMARY KEY, body text NOT NULL);',
  '002_more.sql': `ALTER TABLE items ADD COLUMN tag text;
    INSERT INTO items (id, body, tag) VALUES (1, 'seed', 'a');`,
};

test('files are ordered by number; gaps, duplicates and odd names are rejected', async () => {
  const dir = await migrationDir({ '010_c.sql': '', '002_b.sql': '', '1_a.sql': '', 'README.md': '' });
  await assert.rejects(readMigrations(dir), /010_c\.sql.*expected version 3/);
  await writeFile(join(dir, '003_c.sql'), '');
  await rm(join(dir, '010_c.sql'));
  assert.deepEqual((await readMigrations(dir)).map((m) => [m.version, m.name]), [
    [1, '1_a.sql'],
    [2, '002_b.sql'],
    [3, '003_c.sql'],
  ]);
  await writeFile(join(dir, '03_again.sql'), '');
  await assert.rejects(readMigrations(dir), /003_c\.sql and 03_again\.sql.*share version 3|03_again\.sql and 003_c\.sql.*share version 3/);
  await assert.rejects(readMigrations(await migrationDir({ 'init.sql': '' })), /init\.sql.*NNN_name\.sql/);
  await assert.rejects(readMigrations(await migrationDir({ '002_b.sql': '' })), /expected version 1/);
});

const targets: Array<{ kind: 'pglite' | 'pg'; make: () => Promise<DbTarget> }> = [{ kind: 'pglite', make: pgliteTarget }];
if (databaseUrl) {
  const url = databaseUrl;
  targets.push({ kind: 'pg', make: () => postgresTarget(url) });
}
if (!databaseUrl) test(pgSkipNote, { skip: 'set DATABASE_URL to run the suite against PostgreSQL too' }, () => {});

for (const { kind, make } of targets) {
  describe(`migrations on ${kind}`, () => {
    let target: DbTarget;
    let db: Database;
    before(async () => {
      target = await make();
      db = await target.open();
    });
    after(() => target.dispose());

    test('applies each file once, in the schema, and a rerun applies nothing', async () => {
      const dir = await migrationDir(INIT);
      assert.deepEqual(await runMigrations(db, { schema: 'svc_a', dir }), { applied: ['001_init.sql', '002_more.sql'] });
      assert.deepEqual((await db.query('SELECT id, body, tag FROM svc_a.items')).rows, [{ id: 1, body: 'seed', tag: 'a' }]);
      const recorded = await db.query<{ version: number; name: string; applied_at: Date }>(
        'SELECT version, name, applied_at FROM svc_a.schema_migrations ORDER BY version',
      );
      assert.deepEqual(recorded.rows.map((r) => [r.version, r.name]), [[1, '001_init.sql'], [2, '002_more.sql']]);
      assert.ok(recorded.rows[0]!.applied_at instanceof Date);
      assert.deepEqual(await runMigrations(db, { schema: 'svc_a', dir }), { applied: [] });
      await writeFile(join(dir, '003_next.sql'), "INSERT INTO items (id, body) VALUES (2, 'later');");
      assert.deepEqual(await runMigrations(db, { schema: 'svc_a', dir }), { applied: ['003_next.sql'] });
      assert.equal((await db.query('SELECT 1 FROM svc_a.items')).rowCount, 2);
    });

    test('a failing file leaves nothing behind and its name is in the error', async () => {
      const dir = await migrationDir({
        ...INIT,
        '003_bad.sql': `CREATE TABLE half (id int);
          INSERT INTO items (id, body) VALUES (3, 'half');
          INSERT INTO no_such_table VALUES (1);`,
      });
      await assert.rejects(runMigrations(db, { schema: 'svc_b', dir }), /migration 003_bad\.sql \(schema svc_b\) failed: .*no_such_table/);
      const versions = await db.query('SELECT version FROM svc_b.schema_migrations ORDER BY version');
      assert.deepEqual(versions.rows, [{ version: 1 }, { version: 2 }], 'earlier files stay applied');
      assert.equal((await db.query("SELECT 1 FROM pg_tables WHERE schemaname = 'svc_b' AND tablename = 'half'")).rowCount, 0);
      assert.equal((await db.query('SELECT 1 FROM svc_b.items WHERE id = 3')).rowCount, 0);
      await writeFile(join(dir, '003_bad.sql'), 'CREATE TABLE half (id int);');
      assert.deepEqual(await runMigrations(db, { schema: 'svc_b', dir }), { applied: ['003_bad.sql'] });
    });

    test('rejects a schema name that is not a plain identifier', async () => {
      const dir = await migrationDir(INIT);
      await assert.rejects(runMigrations(db, { schema: 'x"; DROP TABLE y; --', dir }), /invalid schema name/);
    });

    if (kind === 'pg') {
      test('waits for the advisory lock, so replicas starting together apply each file once', async () => {
        const dir = await migrationDir(INIT);
        const holder = await target.open();
        let release!: () => void;
        let locked!: () => void;
        const lockTaken = new Promise<void>((resolve) => (locked = resolve));
        const holding = holder.transaction(async (tx) => {
          await tx.query("SELECT pg_advisory_xact_lock(hashtext('svc_c'))");
          locked();
          await new Promise<void>((resolve) => (release = resolve));
        });
        await lockTaken;
        const replicas = [await target.open(), await target.open()];
        let finished = 0;
        const runs = replicas.map((replica) => runMigrations(replica, { schema: 'svc_c', dir }).finally(() => finished++));
        await sleep(300);
        assert.equal(finished, 0, 'both replicas wait while another holds the lock');
        release();
        await holding;
        const results = await Promise.all(runs);
        assert.deepEqual(results.flatMap((r) => r.applied).sort(), ['001_init.sql', '002_more.sql']);
        assert.equal((await db.query('SELECT 1 FROM svc_c.items')).rowCount, 1);
      });
    }
  });
}
