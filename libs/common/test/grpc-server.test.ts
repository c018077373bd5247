import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createClient, type Metadata } from 'nice-grpc';
import { HealthDefinition } from 'nice-grpc-server-health';
import { ServerReflectionService } from 'nice-grpc-server-reflection';
import reflectionPb from 'nice-grpc-server-reflection/lib/proto/grpc/reflection/v1/reflection_pb.js';
import { createGrpcChannel, GrpcCallError, isGrpcServing, runWithRequestId, Status } from '../src/index.js';
import { startDatasetServer, type Started } from './fixtures.js';

const SERVING = 1;
const NOT_SERVING = 2;
const DATASET_SERVICE = 'labelloop.dataset.v1.DatasetService';

describe('gRPC server', () => {
  // b is the downstream; a calls b for datasetId 'hop'.
  let a: Started;
  let b: Started;
  before(async () => {
    b = await startDatasetServer();
    a = await startDatasetServer({ downstream: b.client });
  });
  after(async () => {
    await a.close();
    await b.close();
  });

  it('propagates the request id from the caller through two hops', async () => {
    const res = await runWithRequestId('req-42', () => a.client.getDataset({ datasetId: 'hop' }));
    assert.equal(res.dataset?.name, 'req-42');
    // Both servers logged the call under that id (pino mixin reads the same context).
    for (const s of [a, b]) {
      assert.ok(s.lines.some((l) => l.msg === 'gRPC call' && l.requestId === 'req-42' && l.code === 'OK'));
    }
  });

  it('makes a request id when the caller has none and echoes it in the header', async () => {
    let header: Metadata | undefined;
    const res = await a.client.getDataset({ datasetId: 'whoami' }, { onHeader: (h) => (header = h) });
    const echoed = header?.get('x-request-id');
    assert.match(echoed ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(res.dataset?.name, echoed);
  });

  it('streams server responses through the middlewares with the request id current', async () => {
    const chunks: string[] = [];
    await runWithRequestId('stream-1', async () => {
      for await (const { chunk } of a.client.exportDataset({ datasetId: 'd' })) chunks.push(chunk.toString());
    });
    assert.deepEqual(chunks, ['chunk-0-stream-1', 'chunk-1-stream-1', 'chunk-2-stream-1']);
    assert.ok(a.lines.some((l) => l.method === `/${DATASET_SERVICE}/ExportDataset` && l.code === 'OK'));
  });

  it('answers grpc.health.v1 Check: NOT_SERVING until told, then SERVING', async () => {
    const channel = createGrpcChannel(a.address);
    const health = createClient(HealthDefinition, channel);
    try {
      for (const service of ['', DATASET_SERVICE]) {
        assert.equal((await health.check({ service })).status, NOT_SERVING);
      }
      a.grpc.health.setServing(true);
      assert.equal(a.grpc.health.isServing(), true);
      for (const service of ['', DATASET_SERVICE]) {
        assert.equal((await health.check({ service })).status, SERVING);
      }
      await assert.rejects(health.check({ service: 'no.such.Service' }), { code: Status.NOT_FOUND });
    } finally {
      channel.close();
    }
  });

  it('isGrpcServing: false while NOT_SERVING or nobody listens, true once SERVING', async () => {
    a.grpc.health.setServing(false);
    assert.equal(await isGrpcServing(a.address), false);
    a.grpc.health.setServing(true);
    assert.equal(await isGrpcServing(a.address), true);
    assert.equal(await isGrpcServing(a.address, { service: DATASET_SERVICE }), true);
    assert.equal(await isGrpcServing(a.address, { service: 'no.such.Service' }), false);
    // Port 1 (tcpmux): nothing listens there on a test machine.
    assert.equal(await isGrpcServing('127.0.0.1:1', { timeoutMs: 500 }), false);
  });

  it('lists and describes the services over reflection', async () => {
    const channel = createGrpcChannel(a.address);
    const reflection = createClient(ServerReflectionService, channel);
    async function* requests() {
      yield new reflectionPb.ServerReflectionRequest().setListServices('*');
      yield new reflectionPb.ServerReflectionRequest().setFileContainingSymbol(DATASET_SERVICE);
    }
    try {
      const responses = [];
      for await (const response of reflection.serverReflectionInfo(requests())) responses.push(response);
      const names = responses[0]?.getListServicesResponse()?.getServiceList().map((s) => s.getName());
      assert.deepEqual(names, [DATASET_SERVICE]);
      const files = responses[1]?.getFileDescriptorResponse()?.getFileDescriptorProtoList_asU8() ?? [];
      assert.ok(files.length > 0);
      assert.ok(files.some((f) => Buffer.from(f).includes('labelloop/dataset/v1/dataset_service.proto')));
    } finally {
      channel.close();
    }
  });
});

describe('gRPC server shutdown', () => {
  it('lets an in-flight call finish, then refuses new ones', async () => {
    const s = await startDatasetServer();
    s.grpc.health.setServing(true);
    const inFlight = s.client.getDataset({ datasetId: 'slow:300' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    await s.grpc.shutdown(5000);
    assert.equal(s.grpc.health.isServing(), false);
    assert.equal((await inFlight).dataset?.id, 'slow:300');
    assert.ok(Date.now() - started >= 150, 'shutdown waited for the call');
    await assert.rejects(s.client.getDataset({ datasetId: 'x' }, { timeoutMs: 1000 }), (err) => {
      assert.ok(err instanceof GrpcCallError);
      assert.equal(err.code, Status.UNAVAILABLE);
      return true;
    });
    await s.close();
  });

  it('cancels calls still running when the timeout passes', async () => {
    const s = await startDatasetServer();
    const inFlight = s.client.getDataset({ datasetId: 'slow:5000' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    await s.grpc.shutdown(200);
    assert.ok(Date.now() - started < 2000);
    await assert.rejects(inFlight, { code: Status.CANCELLED });
    await s.close();
  });
});
