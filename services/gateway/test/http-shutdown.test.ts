import assert from 'node:assert/strict';
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { trackHttpShutdown } from '../src/http-shutdown.js';

// A client that keeps its keep-alive connection busy must not hold the server open: once closing,
// answers carry `Connection: close`, in-flight requests finish, and close() resolves.

function get(port: number, agent: Agent): Promise<{ status: number; connection: string | undefined } | { error: string }> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    req.end();
  });
}

test('close() ends busy keep-alive connections after their current response; in-flight requests finish', async () => {
  let slowResponses = 0;
  const server = createServer((req, res) => {
    // Every other request takes a while: some are in flight when closing starts.
    const delay = slowResponses++ % 2 === 0 ? 50 : 0;
    setTimeout(() => res.end('ok'), delay);
  });
  const shutdown = trackHttpShutdown(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });

  const answers: Array<Awaited<ReturnType<typeof get>>> = [];
  let stop = false;
  // Four clients, each sending its next request the moment the last one is answered.
  const clients = Array.from({ length: 4 }, async () => {
    while (!stop) answers.push(await get(port, agent));
  });
  await new Promise((r) => setTimeout(r, 200));
  const started = Date.now();
  await shutdown.close();
  const closeMs = Date.now() - started;
  stop = true;
  await Promise.all(clients);
  agent.destroy();

  assert.ok(closeMs < 2000, `closed in ${closeMs} ms`);
  const ok = answers.filter((a): a is { status: number; connection: string | undefined } => 'status' in a);
  assert.ok(ok.length > 20, `${ok.length} answers`);
  assert.ok(ok.every((a) => a.status === 200));
  assert.ok(ok.some((a) => a.connection === 'close'), 'the last answers told the clients to close');
  // After closing, requests are refused, never half-answered.
  for (const a of answers) if ('error' in a) assert.match(a.error, /ECONNREFUSED|ECONNRESET|socket hang up/);
});

test('an idle server closes at once', async () => {
  const server = createServer((_req, res) => res.end('ok'));
  const shutdown = trackHttpShutdown(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const started = Date.now();
  await shutdown.close();
  assert.ok(Date.now() - started < 500);
});
