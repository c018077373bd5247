import assert from 'node:assert/strict';
import { test } from 'node:test';
import { datasetV1 } from '@labelloop/proto';
import {
  datasetEvents,
  decodeEvent,
  defineEvent,
  encodeEvent,
  outboxTableSql,
  processedEventsTableSql,
  subjectFor,
} from '../src/index.js';
import { itemLabeled } from './helpers.js';

test('subjects are <prefix>.<noun>.<verb>', () => {
  assert.equal(subjectFor('labelloop', datasetEvents.itemLabeled), 'labelloop.item.labeled');
  assert.equal(subjectFor('acme.prod', datasetEvents.importFinished), 'acme.prod.import.finished');
  assert.deepEqual(
    Object.values(datasetEvents).map((d) => d.subject),
    ['dataset.created', 'item.ingested', 'item.labeled', 'import.finished'],
  );
});

test('bad subjects and prefixes are refused', () => {
  assert.throws(() => defineEvent({ subject: 'labeled', type: datasetV1.ItemLabeled }), /<noun>\.<verb>/);
  assert.throws(() => defineEvent({ subject: 'item.*', type: datasetV1.ItemLabeled }), /<noun>\.<verb>/);
  assert.throws(() => subjectFor('labelloop.>', datasetEvents.itemLabeled), /prefix/);
  assert.throws(() => subjectFor('', datasetEvents.itemLabeled), /prefix/);
});

test('events round-trip through their protobuf codec', () => {
  const event = itemLabeled(7);
  const bytes = encodeEvent(datasetEvents.itemLabeled, event);
  assert.ok(bytes instanceof Uint8Array);
  assert.deepEqual(decodeEvent(datasetEvents.itemLabeled, bytes), event);
  // eventId is field 1 (tag 0x0a), which consumers rely on for idempotency.
  assert.equal(bytes[0], 0x0a);
});

test('table DDL is the documented text and checks the schema name', () => {
  assert.equal(
    outboxTableSql('dataset'),
    'CREATE TABLE dataset.outbox (id uuid PRIMARY KEY, subject text NOT NULL, payload bytea NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), published_at timestamptz, attempts int NOT NULL DEFAULT 0, last_error text);\n' +
      'CREATE INDEX outbox_unpublished_idx ON dataset.outbox (created_at) WHERE published_at IS NULL;',
  );
  assert.match(processedEventsTableSql('trainer'), /^CREATE TABLE trainer\.processed_events \(/);
  assert.throws(() => outboxTableSql('x; DROP TABLE y'), /schema/);
  assert.throws(() => processedEventsTableSql('Dataset'), /schema/);
});
