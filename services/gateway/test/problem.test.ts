import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger, GrpcCallError, Status } from '@labelloop/common';
import { entriesFromDetails, HttpProblem, httpStatusByGrpcCode, toProblem } from '../src/problem.js';

const logger = createLogger({ service: 'gateway-test', level: 'silent' });
const grpcError = (code: Status, message = 'callee says no', details?: Record<string, unknown>) =>
  new GrpcCallError('/labelloop.dataset.v1.DatasetService/GetItem', code, message, details);

test('gRPC status codes map to HTTP once', () => {
  const expected: Array<[Status, number]> = [
    [Status.INVALID_ARGUMENT, 400],
    [Status.NOT_FOUND, 404],
    [Status.ALREADY_EXISTS, 409],
    [Status.ABORTED, 409],
    [Status.FAILED_PRECONDITION, 422],
    [Status.RESOURCE_EXHAUSTED, 413],
    [Status.UNAVAILABLE, 503],
    [Status.DEADLINE_EXCEEDED, 504],
    // The gateway refused by a service (wrong internal token): its own misconfiguration, not the caller's key.
    [Status.UNAUTHENTICATED, 500],
    [Status.PERMISSION_DENIED, 500],
    [Status.INTERNAL, 500],
    [Status.UNKNOWN, 500],
    [Status.DATA_LOSS, 500],
  ];
  for (const [code, status] of expected) {
    assert.equal(toProblem(grpcError(code), logger).status, status, Status[code]);
    assert.equal(httpStatusByGrpcCode[code] ?? 500, status);
  }
});

test('client errors keep the callee message; server errors do not leak it', () => {
  assert.equal(toProblem(grpcError(Status.NOT_FOUND, 'item x not found'), logger).detail, 'item x not found');
  const internal = toProblem(grpcError(Status.INTERNAL, 'relation "dataset.items" does not exist'), logger);
  assert.ok(!internal.detail.includes('relation'));
  const unavailable = toProblem(grpcError(Status.UNAVAILABLE, 'connect ECONNREFUSED 10.0.0.7:5432'), logger);
  assert.ok(!unavailable.detail.includes('10.0.0.7'));
  assert.equal(unavailable.options.headers?.['Retry-After'], '5');
  assert.equal(toProblem(new Error('boom'), logger).status, 500);
});

test('a callee that is up but lost a dependency: the 503 names the dependency, not the callee, and no endpoint', () => {
  const storage = toProblem(
    grpcError(Status.UNAVAILABLE, 'object storage unavailable: ECONNREFUSED: connect ECONNREFUSED 10.0.0.9:9000', { dependency: 'object storage' }),
    logger,
  );
  assert.equal(storage.status, 503);
  assert.equal(storage.detail, 'The dataset service cannot reach its object storage right now; retry shortly.');
  assert.equal(storage.options.headers?.['Retry-After'], '5');
  const down = toProblem(grpcError(Status.UNAVAILABLE, 'No connection established'), logger);
  assert.equal(down.detail, 'The dataset service is unavailable; retry shortly.');
});

test('per-entry errors of a refused archive become problem errors', () => {
  const details = {
    errors: [
      { fileName: '../evil.png', code: 'unsafe_path', reason: 'entry escapes the archive' },
      { code: 'unknown_class', reason: 'no class z' },
      { nonsense: true },
      'text',
    ],
  };
  const problem = toProblem(grpcError(Status.INVALID_ARGUMENT, 'archive refused', details), logger);
  assert.equal(problem.status, 400);
  assert.deepEqual(problem.options.errors, [
    { fileName: '../evil.png', code: 'unsafe_path', reason: 'entry escapes the archive' },
    { code: 'unknown_class', reason: 'no class z' },
  ]);
  assert.equal(entriesFromDetails({ errors: 'nope' }), undefined);
  assert.equal(entriesFromDetails(undefined), undefined);
});

test('body-parser errors', () => {
  assert.equal(toProblem(Object.assign(new Error('x'), { type: 'entity.parse.failed', status: 400 }), logger).status, 400);
  assert.equal(toProblem(Object.assign(new Error('x'), { type: 'entity.too.large', status: 413 }), logger).status, 413);
  assert.equal(toProblem(Object.assign(new Error('x'), { type: 'charset.unsupported', status: 415 }), logger).status, 415);
  const problem = new HttpProblem(409, 'stale');
  assert.equal(toProblem(problem, logger), problem);
});
