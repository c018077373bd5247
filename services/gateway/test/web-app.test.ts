// The web app beside the API: files from the web root with their cache and security headers,
// index.html for the app's own pages, and every API path still answered by the API (JSON and
// problem+json, never the app's HTML). A real gateway app (real API key store on PGlite or
// DATABASE_URL) over a web root the test writes; the dataset service is down (port 9).
import assert from 'node:assert/strict';
import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createGrpcChannel, createLogger, createMetricsRegistry } from '@labelloop/common';
import { createTestDatabase, makeTempDir, type TempDir, type TestDatabase } from '@labelloop/testing';
import { createApp } from '../src/app.js';
import { ApiKeyStore } from '../src/auth/api-key-store.js';
import { DatasetGateway } from '../src/clients/dataset.gateway.js';
import { InferenceGateway } from '../src/clients/inference.gateway.js';
import { TrainerGateway } from '../src/clients/trainer.gateway.js';
import { migrate } from '../src/database.js';
import { CONTENT_SECURITY_POLICY, IMMUTABLE_CACHE, REVALIDATE_CACHE } from '../src/web-app.js';
import { GATEWAY_LIMITS } from './support/stack.js';

const INDEX = '<!doctype html><title>labelloop</title><div id="app"></div><script type="module" src="/assets/index-Ab12Cd34.js"></script>';
const SCRIPT = 'console.log("app");';

let database: TestDatabase;
let webRoot: TempDir;
let emptyRoot: TempDir;
let adminKey: string;
let viewerKey: string;
const servers: Server[] = [];
let baseUrl: string;
let unbuiltUrl: string;

async function serve(root: string, store: ApiKeyStore, db: TestDatabase['db']): Promise<string> {
  const registry = createMetricsRegistry('gateway');
  const nowhere = '127.0.0.1:9';
  const app = createApp({
    dataset: new DatasetGateway(createGrpcChannel(nowhere), { registry, defaultDeadlineMs: 2000 }),
    trainer: new TrainerGateway(createGrpcChannel(nowhere), { registry, defaultDeadlineMs: 2000 }),
    inference: new InferenceGateway(createGrpcChannel(nowhere), { registry, defaultDeadlineMs: 2000 }),
    apiKeys: store,
    db,
    registry,
    logger: createLogger({ service: 'gateway-test', level: 'silent' }),
    limits: GATEWAY_LIMITS,
    webRoot: root,
  });
  const server = createServer(app);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

before(async () => {
  database = await createTestDatabase();
  await migrate(database.db);
  const store = new ApiKeyStore(database.db);
  adminKey = (await store.create('web-admin', 'admin')).key;
  viewerKey = (await store.create('web-viewer', 'viewer')).key;

  webRoot = makeTempDir('web-root');
  mkdirSync(join(webRoot.path, 'assets'));
  writeFileSync(join(webRoot.path, 'index.html'), INDEX);
  writeFileSync(join(webRoot.path, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(join(webRoot.path, 'assets', 'index-Ab12Cd34.js'), SCRIPT);
  writeFileSync(join(webRoot.path, '.env'), 'SECRET=1');
  baseUrl = await serve(webRoot.path, store, database.db);
  emptyRoot = makeTempDir('web-root-empty');
  unbuiltUrl = await serve(emptyRoot.path, store, database.db);
});

after(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  await database?.close();
  webRoot?.remove();
  emptyRoot?.remove();
});

/** Status of a plain GET (fetch would add `Cache-Control: no-cache` to a conditional request). */
function rawStatus(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, { headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject);
  });
}

const html = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };

function assertSecurityHeaders(response: Response): void {
  assert.equal(response.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY);
  assert.match(CONTENT_SECURITY_POLICY, /default-src 'self'/);
  assert.doesNotMatch(CONTENT_SECURITY_POLICY, /unsafe-inline|unsafe-eval|https?:|\*/);
  assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(response.headers.get('referrer-policy'), 'no-referrer');
  assert.equal(response.headers.get('x-frame-options'), 'DENY');
}

async function assertProblem(response: Response, status: number): Promise<{ detail: string }> {
  assert.equal(response.status, status);
  assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/);
  assert.equal(response.headers.get('content-security-policy'), null, 'API answers carry no web-app headers');
  return (await response.json()) as { detail: string };
}

test('GET / is index.html, revalidated on every load, with the security headers', async () => {
  const response = await fetch(`${baseUrl}/`, { headers: html });
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/html/);
  assert.equal(response.headers.get('cache-control'), REVALIDATE_CACHE);
  assertSecurityHeaders(response);
  assert.equal(await response.text(), INDEX);

  const head = await fetch(`${baseUrl}/`, { method: 'HEAD', headers: html });
  assert.equal(head.status, 200);
  assert.equal(await head.text(), '');
});

test('hashed assets are cached for good; other files are revalidated', async () => {
  const script = await fetch(`${baseUrl}/assets/index-Ab12Cd34.js`);
  assert.equal(script.status, 200);
  assert.match(script.headers.get('content-type') ?? '', /javascript/);
  assert.equal(script.headers.get('cache-control'), IMMUTABLE_CACHE);
  assertSecurityHeaders(script);
  assert.equal(await script.text(), SCRIPT);
  // A conditional request revalidates cheaply (serve-static's ETag).
  const etag = script.headers.get('etag');
  assert.ok(etag);
  assert.equal(await rawStatus(`${baseUrl}/assets/index-Ab12Cd34.js`, { 'if-none-match': etag }), 304);

  const icon = await fetch(`${baseUrl}/favicon.svg`);
  assert.equal(icon.status, 200);
  assert.equal(icon.headers.get('cache-control'), REVALIDATE_CACHE);
});

test('pages of the app get index.html; missing files and dotfiles do not', async () => {
  for (const page of ['/datasets', '/datasets/3f2a/review', '/datasets/3f2a/models']) {
    const response = await fetch(baseUrl + page, { headers: html });
    assert.equal(response.status, 200, page);
    assert.equal(response.headers.get('cache-control'), REVALIDATE_CACHE);
    assertSecurityHeaders(response);
    assert.equal(await response.text(), INDEX, page);
  }
  await assertProblem(await fetch(`${baseUrl}/assets/index-missing.js`, { headers: html }), 404);
  await assertProblem(await fetch(`${baseUrl}/.env`, { headers: html }), 404);
  const traversal = await fetch(`${baseUrl}/assets/..%2f..%2fpackage.json`);
  assert.ok(traversal.status >= 400 && traversal.status < 500, `traversal answered ${traversal.status}`);
  // Only GET and HEAD: other methods are the API's 404.
  await assertProblem(await fetch(`${baseUrl}/datasets`, { method: 'POST', headers: html }), 404);
  // A client that does not want HTML (a script) gets the 404 problem.
  await assertProblem(await fetch(`${baseUrl}/datasets/x`, { headers: { accept: 'application/json' } }), 404);
});

test('API paths are untouched: JSON, problems and auth as before, even when asked for HTML', async () => {
  const me = await fetch(`${baseUrl}/v1/me`, { headers: { ...html, authorization: `Bearer ${adminKey}` } });
  assert.equal(me.status, 200);
  assert.match(me.headers.get('content-type') ?? '', /^application\/json/);
  assert.deepEqual(await me.json(), { name: 'web-admin', role: 'admin' });
  const viewer = await fetch(`${baseUrl}/v1/me`, { headers: { authorization: `Bearer ${viewerKey}` } });
  assert.deepEqual(await viewer.json(), { name: 'web-viewer', role: 'viewer' });

  const anonymous = await assertProblem(await fetch(`${baseUrl}/v1/me`, { headers: html }), 401);
  assert.match(anonymous.detail, /API key is required/);
  await assertProblem(await fetch(`${baseUrl}/v1/no-such-route`, { headers: html }), 404);
  await assertProblem(await fetch(`${baseUrl}/v1`, { headers: html }), 404);
  await assertProblem(await fetch(`${baseUrl}/v1/`, { headers: html }), 404);
  // The dataset service is down: the API's own 503, not the app.
  await assertProblem(await fetch(`${baseUrl}/v1/datasets`, { headers: { ...html, authorization: `Bearer ${adminKey}` } }), 503);

  const document = await fetch(`${baseUrl}/openapi.json`, { headers: html });
  assert.match(document.headers.get('content-type') ?? '', /^application\/json/);
  const paths = ((await document.json()) as { paths: Record<string, Record<string, { security?: unknown[] }>> }).paths;
  assert.ok(paths['/v1/me']?.get, 'GET /v1/me is documented');
  const health = await fetch(`${baseUrl}/healthz`, { headers: html });
  assert.equal(await health.text(), 'ok\n');
  const metrics = await (await fetch(`${baseUrl}/metrics`, { headers: html })).text();
  assert.match(metrics, /labelloop_http_requests_total\{[^}]*method="GET",route="web-app",status="200"/);
  assert.match(metrics, /route="\/v1\/me",status="200"/);
});

test('without a built web app the API works and / says how to build it', async () => {
  const page = await assertProblem(await fetch(`${unbuiltUrl}/datasets`, { headers: html }), 404);
  assert.match(page.detail, /web app is not built/);
  const me = await fetch(`${unbuiltUrl}/v1/me`, { headers: { authorization: `Bearer ${adminKey}` } });
  assert.equal(me.status, 200);
});
