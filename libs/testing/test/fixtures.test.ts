import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect } from 'nats';
import { createTestDatabase, startTestNats, startTestS3 } from '../src/index.js';

test('createTestDatabase gives a private, working database', async () => {
  const a = await createTestDatabase();
  const b = await createTestDatabase();
  try {
    await a.db.query('CREATE TABLE only_in_a (id int)');
    const inB = await b.db.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_tables WHERE tablename = 'only_in_a'");
    assert.equal(inB.rows[0]?.n, 0);
    assert.equal(Boolean(a.url) === Boolean(process.env.DATABASE_URL), true);
  } finally {
    await a.close();
    await b.close();
  }
});

test('startTestS3 stores exact bytes and can be made unreachable and back', async () => {
  const s3 = await startTestS3({ own: true });
  try {
    const bytes = Buffer.from([0, 1, 2, 255]);
    await s3.store.put('k', bytes);
    assert.deepEqual(await s3.store.getBuffer('k'), bytes);
    await s3.stop();
    await assert.rejects(s3.store.getBuffer('k'));
    await s3.start();
    assert.deepEqual(await s3.store.getBuffer('k'), bytes);
  } finally {
    await s3.close();
  }
});

test('startTestNats gives a JetStream server with unique names', async () => {
  const first = await startTestNats({ own: true });
  const second = await startTestNats();
  try {
    assert.notEqual(first.streamName, second.streamName);
    const nc = await connect({ servers: first.url });
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: first.streamName, subjects: [`${first.subjectPrefix}.>`] });
    assert.equal((await jsm.streams.info(first.streamName)).config.name, first.streamName);
    await nc.close();
  } finally {
    await first.close();
    await second.close();
  }
});
