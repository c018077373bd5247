// The training routes with NO trainer running (a real gateway and dataset server): they answer
// 503 problems while labelling and /readyz carry on; roles and request validation apply before
// the trainer is asked; the retrain command reports each failure and exits non-zero.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runRetrain } from '../src/cli/retrain-command.js';
import { Client, expectJson, expectProblem } from './support/http.js';
import { startStack, type Stack } from './support/stack.js';

let stack: Stack;
let admin: Client;
let labeller: Client;
let viewer: Client;
let datasetId: string;

before(async () => {
  stack = await startStack();
  admin = new Client(stack.baseUrl, stack.adminKey);
  const key = async (name: string, role: string) =>
    (await expectJson<{ key: string }>(await admin.send('POST', '/v1/api-keys', { name, role }), 201)).key;
  labeller = admin.as(await key('lab', 'labeller'));
  viewer = admin.as(await key('view', 'viewer'));
  datasetId = (await expectJson<{ id: string }>(await admin.send('POST', '/v1/datasets', { name: 'd', classes: ['a', 'b'] }), 201))
    .id;
});
after(() => stack?.close());

test('trainer down: every training route is a 503 naming the trainer; labelling and /readyz are fine', async () => {
  const calls: Array<[Client, string, string, unknown?]> = [
    [labeller, 'POST', `/v1/datasets/${datasetId}/training-runs`],
    [viewer, 'GET', `/v1/datasets/${datasetId}/training-runs`],
    [viewer, 'GET', '/v1/training-runs/r1'],
    [labeller, 'DELETE', '/v1/training-runs/r1'],
    [viewer, 'GET', '/v1/training-runs/r1/events'],
    [viewer, 'GET', `/v1/datasets/${datasetId}/models`],
    [viewer, 'GET', '/v1/models/m1'],
    [admin, 'POST', '/v1/models/m1/promote'],
    [admin, 'POST', `/v1/datasets/${datasetId}/models/rollback`],
    [viewer, 'GET', `/v1/datasets/${datasetId}/retrain-policy`],
    [admin, 'PUT', `/v1/datasets/${datasetId}/retrain-policy`, { everyHumanLabels: 50 }],
  ];
  for (const [client, method, path, body] of calls) {
    const response = body === undefined ? await client.fetch(path, { method }) : await client.send(method, path, body);
    assert.equal(response.headers.get('retry-after'), '5', `${method} ${path}`);
    const problem = await expectProblem(response, 503);
    assert.equal(problem.detail, 'The trainer service is unavailable; retry shortly.', `${method} ${path}`);
  }
  const ready = await expectJson<{ checks: Record<string, string> }>(await admin.as(undefined).get('/readyz'), 200);
  assert.deepEqual(ready.checks, { dataset: 'serving', database: 'ok' });
  await expectJson(await viewer.get(`/v1/datasets/${datasetId}`), 200);
});

test('roles and validation are checked before the trainer is asked', async () => {
  await expectProblem(await viewer.fetch(`/v1/datasets/${datasetId}/training-runs`, { method: 'POST' }), 403);
  await expectProblem(await viewer.fetch('/v1/training-runs/r1', { method: 'DELETE' }), 403);
  await expectProblem(await labeller.fetch('/v1/models/m1/promote', { method: 'POST' }), 403);
  await expectProblem(await labeller.fetch(`/v1/datasets/${datasetId}/models/rollback`, { method: 'POST' }), 403);
  await expectProblem(await labeller.send('PUT', `/v1/datasets/${datasetId}/retrain-policy`, {}), 403);
  await expectProblem(await viewer.as(undefined).get('/v1/training-runs/r1/events'), 401);

  const path = `/v1/datasets/${datasetId}/training-runs`;
  const badOptimizer = await expectProblem(
    await labeller.send('POST', path, {
      hyperParameters: { optimizer: 'nadam', learningRate: 0.01, epochs: 3, momentum: 0.9, batchSize: 32 },
    }),
    400,
  );
  assert.equal(badOptimizer.errors?.[0]?.path, 'body.hyperParameters.optimizer');
  const badSearch = await expectProblem(
    await labeller.send('POST', path, { search: { strategy: 'grid', trials: 0, maxEpochs: 2, seed: 1 } }),
    400,
  );
  assert.deepEqual(badSearch.errors?.map((e) => e.path).sort(), ['body.search.strategy', 'body.search.trials']);
  await expectProblem(await labeller.send('POST', path, { epochs: 3 }), 400);
  const badTrigger = await expectProblem(
    await labeller.fetch(path, { method: 'POST', headers: { 'x-labelloop-trigger': 'policy' } }),
    400,
  );
  assert.equal(badTrigger.errors?.[0]?.path, 'header.x-labelloop-trigger');
  await expectProblem(
    await labeller.fetch(path, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'go' }),
    415,
  );
  await expectProblem(await admin.send('PUT', `/v1/datasets/${datasetId}/retrain-policy`, { replayRatio: 1.5 }), 400);
  await expectProblem(await viewer.get(`/v1/datasets/${datasetId}/training-runs?limit=0`), 400);
});

test('the OpenAPI document: optional start body, the event stream, tags', async () => {
  const document = await expectJson<{ paths: Record<string, Record<string, any>> }>(
    await admin.as(undefined).get('/openapi.json'),
    200,
  );
  const start = document.paths['/v1/datasets/{id}/training-runs']!.post;
  assert.equal(start.requestBody.required, false);
  assert.equal(start['x-labelloop-role'], 'labeller');
  assert.ok(start.responses['202'].headers.Location);
  const events = document.paths['/v1/training-runs/{id}/events']!.get;
  assert.deepEqual(Object.keys(events.responses['200'].content), ['text/event-stream']);
  assert.equal(document.paths['/v1/models/{id}/promote']!.post['x-labelloop-role'], 'admin');
  assert.equal(document.paths['/v1/datasets']!.post.requestBody.required, true, 'other bodies stay required');
});

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: (env: Record<string, string | undefined>) => ({ env, out: (l: string) => out.push(l), err: (l: string) => err.push(l) }) };
}

test('retrain command: usage errors exit 2; API refusals exit 1 with the reason', async () => {
  const usage = capture();
  assert.equal(await runRetrain([], usage.io({ LABELLOOP_API_KEY: 'k' })), 2);
  assert.match(usage.err.join('\n'), /--dataset <id> is required/);
  const noKey = capture();
  assert.equal(await runRetrain(['--dataset', datasetId, '--url', stack.baseUrl], noKey.io({})), 2);
  assert.match(noKey.err[0]!, /LABELLOOP_API_KEY/);
  const badTimeout = capture();
  assert.equal(await runRetrain(['--dataset', 'x', '--timeout', 'soon'], badTimeout.io({ LABELLOOP_API_KEY: 'k' })), 2);
  const unknown = capture();
  assert.equal(await runRetrain(['--dataset', 'x', '--bogus'], unknown.io({ LABELLOOP_API_KEY: 'k' })), 2);

  const badKey = capture();
  const args = ['--dataset', datasetId, '--url', stack.baseUrl];
  assert.equal(await runRetrain(args, badKey.io({ LABELLOOP_API_KEY: 'llk_nope' })), 1);
  assert.deepEqual(badKey.err, ['retrain: starting a run failed: 401 The API key is unknown or revoked.']);
  const down = capture();
  assert.equal(await runRetrain(args, down.io({ LABELLOOP_API_KEY: labeller.key })), 1);
  assert.deepEqual(down.err, ['retrain: starting a run failed: 503 The trainer service is unavailable; retry shortly.']);
  const nobody = capture();
  assert.equal(await runRetrain(['--dataset', 'x', '--url', 'http://127.0.0.1:9'], nobody.io({ LABELLOOP_API_KEY: 'k' })), 1);
  assert.match(nobody.err[0]!, /^retrain: cannot reach the gateway at http:\/\/127\.0\.0\.1:9/);
});

test('retrain command as a process (npm run retrain): the exit status and stderr', async () => {
  const packageDir = fileURLToPath(new URL('..', import.meta.url));
  const child = spawn(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', 'src/cli/retrain.ts', '--dataset', datasetId, '--url', stack.baseUrl],
    { cwd: packageDir, env: { ...process.env, LABELLOOP_API_KEY: viewer.key }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [code] = (await once(child, 'exit')) as [number];
  assert.equal(code, 1, stderr);
  assert.match(stderr, /^retrain: starting a run failed: 403 This operation needs the labeller role/);
});
