// Raw frames that are not the method's request message: INVALID_ARGUMENT naming the type, not
// grpc-js's INTERNAL "Error deserializing request"; the server keeps serving.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client, credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { datasetV1 } from '@labelloop/proto';
import { Status } from '../src/index.js';
import { startDatasetServer, type Started } from './fixtures.js';

let server: Started;
let raw: Client;
before(async () => {
  server = await startDatasetServer();
  raw = new Client(server.address, credentials.createInsecure());
});
after(async () => {
  raw.close();
  await server.close();
});

function send(bytes: Buffer): Promise<{ err: ServiceError | null; value?: Buffer }> {
  return new Promise((resolve) => {
    raw.makeUnaryRequest(
      '/labelloop.dataset.v1.DatasetService/GetDataset',
      (b: Buffer) => b,
      (b: Buffer) => b,
      bytes,
      new Metadata(),
      (err, value) => resolve({ err, value }),
    );
  });
}

test('garbage and truncated messages are INVALID_ARGUMENT; valid bytes still work', async () => {
  for (const bytes of [
    Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02]),
    // field 1 (string) claims 16 bytes, 1 follows
    Buffer.from([0x0a, 0x10, 0x61]),
    // a varint that never ends
    Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
  ]) {
    const { err } = await send(bytes);
    assert.equal(err?.code, Status.INVALID_ARGUMENT, err?.details);
    assert.match(err!.details, /not a valid GetDatasetRequest protobuf message/);
  }
  const ok = await send(Buffer.from(datasetV1.GetDatasetRequest.encode({ datasetId: 'fine', skipStatistics: false }).finish()));
  assert.equal(ok.err, null);
  assert.equal(datasetV1.GetDatasetResponse.decode(ok.value!).dataset?.id, 'fine');
  assert.ok(
    server.lines.some((l) => l.code === 'INVALID_ARGUMENT' && String(l.method).endsWith('/GetDataset')),
    'the refusal is logged like any other call',
  );
});
