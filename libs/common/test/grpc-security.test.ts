import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { datasetV1 } from '@labelloop/proto';
import { createClient } from 'nice-grpc';
import { HealthDefinition } from 'nice-grpc-server-health';
import { ServerReflectionService } from 'nice-grpc-server-reflection';
import reflectionPb from 'nice-grpc-server-reflection/lib/proto/grpc/reflection/v1/reflection_pb.js';
import {
  createGrpcChannel,
  createGrpcClient,
  createGrpcServer,
  createMetricsRegistry,
  GrpcCallError,
  grpcSecurityEnvSchema,
  internalTokenMatches,
  loadGrpcSecurity,
  parseConfig,
  Status,
  type GrpcSecurity,
} from '../src/index.js';
import { captureLogs, datasetImplementation } from './fixtures.js';

const TOKEN = 'internal-token-0123456789abcdef';

async function serve(security: GrpcSecurity) {
  const { logger } = captureLogs();
  const grpc = createGrpcServer({ logger, registry: createMetricsRegistry('test') });
  grpc.addService(datasetV1.DatasetServiceDefinition, datasetImplementation());
  grpc.secure(security);
  const port = await grpc.listen('127.0.0.1:0');
  grpc.health.setServing(true);
  return { grpc, port };
}

async function expectCode(promise: Promise<unknown>, code: Status): Promise<string> {
  try {
    await promise;
  } catch (err) {
    const actual = (err as { code?: Status }).code;
    assert.equal(actual === undefined ? 'no code' : Status[actual], Status[code], String(err));
    return (err as Error).message;
  }
  assert.fail(`expected ${Status[code]}, the call succeeded`);
}

describe('internal token on the gRPC ports', () => {
  let server: Awaited<ReturnType<typeof serve>>;
  before(async () => {
    server = await serve({ internalToken: TOKEN });
  });
  after(() => server.grpc.shutdown(1000));

  it('refuses callers without the token or with a wrong one, with UNAUTHENTICATED and a clear reason', async () => {
    for (const security of [undefined, { internalToken: `${TOKEN}x` }, { internalToken: TOKEN.slice(0, -1) }]) {
      const channel = createGrpcChannel(`127.0.0.1:${server.port}`, { security });
      const client = createGrpcClient(datasetV1.DatasetServiceDefinition, channel);
      const message = await expectCode(client.getDataset({ datasetId: 'x' }), Status.UNAUTHENTICATED);
      assert.match(message, /internal token/);
      assert.doesNotMatch(message, new RegExp(TOKEN), 'the token is never echoed');
      channel.close();
    }
  });

  it('accepts channels made with the token; health checks stay open for probes; reflection needs the token', async () => {
    const secured = createGrpcChannel(`127.0.0.1:${server.port}`, { security: { internalToken: TOKEN } });
    const client = createGrpcClient(datasetV1.DatasetServiceDefinition, secured);
    assert.equal((await client.getDataset({ datasetId: 'ok' })).dataset?.id, 'ok');
    secured.close();

    const open = createGrpcChannel(`127.0.0.1:${server.port}`);
    assert.equal((await createClient(HealthDefinition, open).check({ service: '' })).status, 1);
    const reflection = createClient(ServerReflectionService, open);
    const stream = reflection.serverReflectionInfo(
      (async function* () {
        yield new reflectionPb.ServerReflectionRequest().setListServices('*');
      })(),
    );
    await expectCode(
      (async () => {
        for await (const _ of stream) break;
      })(),
      Status.UNAUTHENTICATED,
    );
    open.close();
  });

  it('compares in constant time over hashes: any length, never throws', () => {
    assert.equal(internalTokenMatches(`Bearer ${TOKEN}`, TOKEN), true);
    assert.equal(internalTokenMatches(TOKEN, TOKEN), false);
    assert.equal(internalTokenMatches(undefined, TOKEN), false);
    assert.equal(internalTokenMatches('', TOKEN), false);
    assert.equal(internalTokenMatches(`Bearer ${TOKEN}${'x'.repeat(10_000)}`, TOKEN), false);
  });

  it('GrpcCallError carries the refusal to the caller', async () => {
    const channel = createGrpcChannel(`127.0.0.1:${server.port}`);
    const client = createGrpcClient(datasetV1.DatasetServiceDefinition, channel);
    await assert.rejects(client.getDataset({ datasetId: 'x' }), (err: unknown) => err instanceof GrpcCallError && err.code === Status.UNAUTHENTICATED);
    channel.close();
  });
});

describe('configuration', () => {
  it('INTERNAL_TOKEN must be long; TLS files go together and must exist', () => {
    assert.throws(() => parseConfig(grpcSecurityEnvSchema, { INTERNAL_TOKEN: 'short' }), /INTERNAL_TOKEN: must be at least 24/);
    assert.deepEqual(loadGrpcSecurity(parseConfig(grpcSecurityEnvSchema, {})), {});
    assert.deepEqual(loadGrpcSecurity(parseConfig(grpcSecurityEnvSchema, { INTERNAL_TOKEN: TOKEN })), { internalToken: TOKEN });
    assert.throws(() => loadGrpcSecurity(parseConfig(grpcSecurityEnvSchema, { GRPC_TLS_CERT: '/nope.pem' })), /go together/);
    assert.throws(
      () => loadGrpcSecurity(parseConfig(grpcSecurityEnvSchema, { GRPC_TLS_CERT: '/nope.pem', GRPC_TLS_KEY: '/nope.key' })),
      /GRPC_TLS_CERT: cannot read \/nope.pem/,
    );
    assert.throws(() => loadGrpcSecurity(parseConfig(grpcSecurityEnvSchema, { GRPC_TLS_CA: '/ca.pem' })), /needs GRPC_TLS_CERT/);
  });
});

describe('mutual TLS', () => {
  let dir: string;
  const file = (name: string) => join(dir, name);
  let opensslMissing = false;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'labelloop-tls-'));
    try {
      const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
      ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=labelloop-test-ca');
      writeFileSync(
        file('ext.cnf'),
        'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n',
      );
      for (const name of ['service', 'stranger']) {
        ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
        // The stranger signs its own certificate: not from the CA.
        const signer = name === 'service' ? ['-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial'] : ['-signkey', `${name}.key`];
        ssl('x509', '-req', '-in', `${name}.csr`, ...signer, '-out', `${name}.pem`, '-days', '2', '-extfile', 'ext.cnf');
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') opensslMissing = true;
      else throw err;
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('serves only clients with a certificate from the CA; plaintext and strangers are refused', async (t) => {
    if (opensslMissing) return t.skip('openssl is not installed: cannot make test certificates');
    const env = (name: string) =>
      loadGrpcSecurity(
        parseConfig(grpcSecurityEnvSchema, { GRPC_TLS_CERT: file(`${name}.pem`), GRPC_TLS_KEY: file(`${name}.key`), GRPC_TLS_CA: file('ca.pem') }),
      );
    const server = await serve({ ...env('service'), internalToken: TOKEN });
    try {
      const address = `localhost:${server.port}`;
      const good = createGrpcChannel(address, { security: { ...env('service'), internalToken: TOKEN } });
      assert.equal((await createGrpcClient(datasetV1.DatasetServiceDefinition, good).getDataset({ datasetId: 'tls' })).dataset?.id, 'tls');
      good.close();

      const attempts: Array<[string, GrpcSecurity | undefined]> = [
        ['plaintext', { internalToken: TOKEN }],
        ['TLS without a client certificate', { internalToken: TOKEN, tls: { ...env('service').tls!, cert: undefined as never, key: undefined as never } }],
        ['a certificate the CA did not sign', { ...env('stranger'), internalToken: TOKEN }],
      ];
      for (const [what, security] of attempts) {
        let channel;
        try {
          channel = createGrpcChannel(address, { security });
        } catch {
          continue; // grpc-js refuses the credentials outright: refused all the same
        }
        const client = createGrpcClient(datasetV1.DatasetServiceDefinition, channel, { defaultDeadlineMs: 3000 });
        await assert.rejects(client.getDataset({ datasetId: 'x' }), (err: unknown) => {
          const code = (err as GrpcCallError).code;
          return code === Status.UNAVAILABLE || code === Status.DEADLINE_EXCEEDED;
        }, what);
        channel.close();
      }
    } finally {
      await server.grpc.shutdown(1000);
    }
  });
});
