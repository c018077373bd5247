import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GrpcCallError, INTERNAL_ERROR_MESSAGE, Status, statusByErrorKind } from '../src/index.js';
import { domainErrorKinds, startDatasetServer, type Started } from './fixtures.js';

async function callError(promise: Promise<unknown>): Promise<GrpcCallError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof GrpcCallError, `expected GrpcCallError, got ${String(err)}`);
    return err;
  }
  assert.fail('call succeeded');
}

describe('gRPC error mapping', () => {
  let s: Started;
  before(async () => {
    s = await startDatasetServer({ defaultDeadlineMs: 300 });
  });
  after(() => s.close());

  it('maps every DomainError kind to its status, with message and details', async () => {
    const expected: Record<string, Status> = {
      invalid_argument: Status.INVALID_ARGUMENT,
      not_found: Status.NOT_FOUND,
      already_exists: Status.ALREADY_EXISTS,
      conflict: Status.ABORTED,
      failed_precondition: Status.FAILED_PRECONDITION,
      unavailable: Status.UNAVAILABLE,
      unauthenticated: Status.UNAUTHENTICATED,
      permission_denied: Status.PERMISSION_DENIED,
      resource_exhausted: Status.RESOURCE_EXHAUSTED,
    };
    assert.deepEqual(statusByErrorKind, expected);
    for (const kind of domainErrorKinds) {
      const err = await callError(s.client.getDataset({ datasetId: kind }));
      assert.equal(Status[err.code], Status[expected[kind]!], kind);
      assert.equal(err.message, `boom: ${kind}`);
      assert.equal(err.method, '/labelloop.dataset.v1.DatasetService/GetDataset');
      assert.deepEqual(err.details, { kind, fields: ['name'] });
    }
  });

  it('hides unexpected errors behind INTERNAL and logs them with their stack', async () => {
    const err = await callError(s.client.getDataset({ datasetId: 'crash' }));
    assert.equal(err.code, Status.INTERNAL);
    assert.equal(err.message, INTERNAL_ERROR_MESSAGE);
    assert.equal(err.details, undefined);
    assert.doesNotMatch(JSON.stringify(err), /hunter2/);
    const logged = s.lines.find((l) => l.msg === 'unhandled error in gRPC handler');
    assert.ok(logged, 'the original error is logged');
    assert.match(String((logged.err as { stack: string }).stack), /hunter2[\s\S]*fixtures\.ts/);
    const warned = s.lines.find((l) => l.msg === 'gRPC call failed');
    assert.equal(warned?.code, 'INTERNAL');
    assert.equal(warned?.level, 'warn');
  });

  it('answers UNIMPLEMENTED for methods the service left out', async () => {
    const err = await callError(s.client.listDatasets({ limit: 1 }));
    assert.equal(err.code, Status.UNIMPLEMENTED);
  });

  it('carries details of an error thrown in the middle of a server stream', async () => {
    const chunks: string[] = [];
    const err = await callError(
      (async () => {
        for await (const { chunk } of s.client.exportDataset({ datasetId: 'fail-midway' })) {
          chunks.push(chunk.toString());
        }
      })(),
    );
    assert.equal(chunks.length, 1);
    assert.equal(err.code, Status.NOT_FOUND);
    assert.deepEqual(err.details, { at: 1 });
  });

  it('gives unary calls a default deadline, overridable per call', async () => {
    const err = await callError(s.client.getDataset({ datasetId: 'slow:2000' }));
    assert.equal(err.code, Status.DEADLINE_EXCEEDED);
    const res = await s.client.getDataset({ datasetId: 'slow:400' }, { timeoutMs: 2000 });
    assert.equal(res.dataset?.id, 'slow:400');
  });

  it('counts server and client calls by code', async () => {
    const text = await s.registry.metrics();
    assert.match(
      text,
      /labelloop_grpc_server_handled_total\{grpc_service="labelloop\.dataset\.v1\.DatasetService",grpc_method="GetDataset",grpc_code="NOT_FOUND",service="test"\} 1/,
    );
    assert.match(text, /labelloop_grpc_client_handled_total\{[^}]*grpc_code="DEADLINE_EXCEEDED"[^}]*\} 1/);
    assert.match(text, /labelloop_grpc_server_handling_seconds_count\{[^}]*grpc_method="GetDataset"[^}]*\} \d+/);
  });
});
