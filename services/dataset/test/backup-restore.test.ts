// The backup procedure of docs/operations.md, run for real: pg_dump of the `dataset` schema, the
// schema dropped (the disaster), pg_restore, and every count and the label history identical — then
// the service serves the restored data. Needs pg_dump/pg_restore and a PostgreSQL server
// (DATABASE_URL, else postgres://postgres@127.0.0.1:5432/test); PGlite cannot be dumped.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { commonV1 } from '@labelloop/proto';
import pg from 'pg';
import { DIGITS, digits, mapLimit } from './support/fixtures.js';
import { startHarness, uniqueName, type Harness } from './support/harness.js';

const SERVER_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const HUMAN = commonV1.LabelSource.LABEL_SOURCE_HUMAN;

function missingTool(): string | undefined {
  for (const tool of ['pg_dump', 'pg_restore']) {
    if (spawnSync(tool, ['--version']).error) return `${tool} is not installed (apt-get install postgresql-client)`;
  }
  return undefined;
}

async function serverProblem(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: SERVER_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.end();
    return undefined;
  } catch (err) {
    return `no PostgreSQL server at ${SERVER_URL.replace(/\/\/[^@]*@/, '//…@')} (${(err as Error).message}); set DATABASE_URL`;
  }
}

const skipReason = missingTool() ?? (await serverProblem());
let h: Harness;
let dir: string;
const previousUrl = process.env.DATABASE_URL;

before(async () => {
  if (skipReason) return;
  // The harness makes a fresh database on this server (libs/testing createTestDatabase).
  process.env.DATABASE_URL = SERVER_URL;
  h = await startHarness();
  dir = mkdtempSync(join(tmpdir(), 'labelloop-backup-'));
});
after(async () => {
  await h?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (previousUrl === undefined) delete process.env.DATABASE_URL;
});

const TABLES = [
  'datasets',
  'items',
  'item_labels',
  'class_split_counts',
  'imports',
  'scoring_jobs',
  'scoring_shards',
  'predictions',
  'review_tasks',
  'audit_results',
  'schema_migrations',
];

/** Row counts per table and a digest of the whole label history, in a stable order. */
async function fingerprint() {
  const counts: Record<string, number> = {};
  for (const table of TABLES) {
    counts[table] = (await h.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM dataset.${table}`)).rows[0]!.n;
  }
  const history = await h.db.query<{ digest: string }>(
    `SELECT md5(coalesce(string_agg(concat_ws('|', item_id, version, value, source, actor, created_at), ';'
              ORDER BY item_id, version), '')) AS digest FROM dataset.item_labels`,
  );
  const items = await h.db.query<{ digest: string }>(
    `SELECT md5(coalesce(string_agg(concat_ws('|', id, sha256, label, split, label_version, deleted), ';' ORDER BY id), '')) AS digest
       FROM (SELECT i.*, d.deleted_at IS NOT NULL AS deleted FROM dataset.items i JOIN dataset.datasets d ON d.id = i.dataset_id) x`,
  );
  return { counts, labelHistory: history.rows[0]!.digest, items: items.rows[0]!.digest };
}

test('pg_dump of the dataset schema, schema dropped, pg_restore: counts and label history identical', async (t) => {
  if (skipReason) return t.skip(`backup/restore needs PostgreSQL tools and a server: ${skipReason}`);
  // The harness's own fresh database on the server.
  const name = (await h.db.query<{ name: string }>('SELECT current_database() AS name')).rows[0]!.name;
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();

  // Two datasets with labels, relabels and history; one of them soft-deleted (a backup keeps it).
  const created: string[] = [];
  for (const [n, from] of [[12, 5000], [6, 5100]] as const) {
    const { dataset } = await h.client.createDataset({ name: uniqueName('backup'), classes: DIGITS });
    created.push(dataset!.id);
    const images = await digits(from, n);
    const items = await mapLimit(images, 4, async (digit) => {
      const { item } = await h.client.uploadItem({ datasetId: dataset!.id, fileName: `${digit.index}.png`, content: digit.png, label: digit.label, actor: 'ann' });
      return item!;
    });
    for (const item of items.slice(0, 4)) {
      await h.client.setLabel({ itemId: item.id, label: '0', source: HUMAN, actor: 'bob', modelVersion: '' });
    }
  }
  await h.client.deleteDataset({ datasetId: created[1]!, actor: 'root' });
  const before = await fingerprint();
  assert.equal(before.counts.items, 18);
  assert.equal(before.counts.item_labels, 18 + 8);

  const file = join(dir, 'dataset.dump');
  execFileSync('pg_dump', ['--format=custom', '--schema=dataset', '--no-owner', `--file=${file}`, databaseUrl], { stdio: 'pipe' });
  assert.ok(statSync(file).size > 1000);

  // The disaster: the schema is gone.
  await h.db.exec('DROP SCHEMA dataset CASCADE');
  await assert.rejects(h.db.query('SELECT 1 FROM dataset.items LIMIT 1'), /does not exist/);

  execFileSync('pg_restore', ['--single-transaction', '--no-owner', `--dbname=${databaseUrl}`, file], { stdio: 'pipe' });
  assert.deepEqual(await fingerprint(), before, 'every count, the label history and the items are as they were');

  // The service serves the restored data, deleted dataset still restorable.
  const { statistics } = await h.client.getDataset({ datasetId: created[0]! });
  assert.equal(statistics!.totalItems, 12);
  const restored = await h.client.restoreDataset({ datasetId: created[1]!, actor: 'root' });
  assert.equal(restored.dataset!.id, created[1]);
});
