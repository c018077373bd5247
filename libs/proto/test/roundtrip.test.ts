import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commonV1, datasetV1 } from '../src/index.js';

test('an event survives a protobuf round trip', () => {
  const event = datasetV1.ItemLabeled.fromPartial({
    eventId: 'e1',
    datasetId: 'd1',
    itemId: 'i1',
    label: '7',
    source: commonV1.LabelSource.LABEL_SOURCE_HUMAN,
    version: 3,
  });
  const bytes = datasetV1.ItemLabeled.encode(event).finish();
  assert.deepEqual(datasetV1.ItemLabeled.decode(bytes), event);
});
