// Hostile input against the whole system as `npm start` runs it (four services, real NATS, S3,
// PGlite or a fresh PostgreSQL database when DATABASE_URL is set): every case must be answered with
// a 4xx (or its gRPC equivalent) and a clear reason, store nothing (object and row counts, and what
// the API reports, before = after), and leave every service healthy (/readyz, grpc.health.v1).
// The case list with each answer is printed as diagnostics for the closing note. Afterwards: no API
// key (nor 12 characters of one) and not the internal token in any service's log.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createGrpcChannel, createGrpcClient, isGrpcServing } from '@labelloop/common';
import { datasetV1, inferenceV1 } from '@labelloop/proto';
import { createTestDatabase, mnistPng, type TestDatabase } from '@labelloop/testing';
import { Api } from '../src/api.js';
import {
  corruptPng,
  FAKE_JPEG,
  GIF,
  HTML_AS_PNG,
  LedgerReader,
  pixelBombPng,
  rawClientStream,
  rawUnary,
  rawZip,
  SVG_WITH_SCRIPT,
  type Ledger,
} from '../src/hostile.js';
import { type RunningSystem, startSystem } from '../src/system.js';

const MiB = 1024 * 1024;
const LIMITS = {
  MAX_IMAGE_BYTES: '1MiB',
  MAX_IMAGE_PIXELS: '4000000',
  MAX_FILES_PER_UPLOAD: '20',
  MAX_ARCHIVE_BYTES: '8MiB',
  MAX_ARCHIVE_ENTRIES: '100',
  MAX_ARCHIVE_EXPANDED_BYTES: '16MiB',
  MAX_COMPRESSION_RATIO: '100',
  MAX_JSON_BYTES: '64KiB',
  // Nobody else claims the scoring shard the gRPC cases lease.
  SCORING_ENABLED: 'false',
  // Every gRPC call is logged: the key grep at the end reads the most the services ever write.
  LOG_LEVEL: 'debug',
};
const GRPC = {
  dataset: '/labelloop.dataset.v1.DatasetService/',
  trainer: '/labelloop.training.v1.TrainerService/',
  inference: '/labelloop.inference.v1.InferenceService/',
};
const STATUS: Record<number, string> = {
  0: 'OK', 3: 'INVALID_ARGUMENT', 5: 'NOT_FOUND', 9: 'FAILED_PRECONDITION', 10: 'ABORTED', 13: 'INTERNAL', 16: 'UNAUTHENTICATED',
};

let system: RunningSystem;
let database: TestDatabase | undefined;
let ledger: LedgerReader;
const keys: Record<'admin' | 'ledger' | 'labeller' | 'viewer' | 'revoked' | 'scoped', string> = {} as never;
const ids = { dataset: '', other: '', item: '', item2: '', otherItem: '', shard: '' };
let png: Buffer;

before(async () => {
  if (process.env.DATABASE_URL) database = await createTestDatabase();
  system = await startSystem({ env: { ...LIMITS, ...(database?.url ? { DATABASE_URL: database.url } : {}) } });
  const { admin } = system;
  keys.admin = admin.key!;
  const key = async (name: string, role: string, datasets?: string[]) => {
    const created = await admin.post('/v1/api-keys', { name, role, ...(datasets ? { datasets } : {}) });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    return created.body as { id: string; key: string };
  };
  keys.ledger = (await key('ledger', 'admin')).key;
  keys.labeller = (await key('lab', 'labeller')).key;
  keys.viewer = (await key('view', 'viewer')).key;
  const revoked = await key('gone', 'labeller');
  assert.equal((await admin.request('DELETE', `/v1/api-keys/${revoked.id}`)).status, 200);
  keys.revoked = revoked.key;

  png = await mnistPng('test', 7);
  const dataset = await admin.post('/v1/datasets', { name: 'hostile', classes: ['cat', 'dog'] });
  ids.dataset = dataset.body.id;
  const form = new FormData();
  for (const i of [7, 8]) form.append('file', new Blob([await mnistPng('test', i)], { type: 'image/png' }), `${i}.png`);
  const uploaded = await admin.post(`/v1/datasets/${ids.dataset}/items`, form);
  assert.equal(uploaded.status, 201, JSON.stringify(uploaded.body));
  [ids.item, ids.item2] = uploaded.body.results.map((r: any) => r.item.id);
  assert.equal((await admin.put(`/v1/items/${ids.item}/label`, { label: 'cat', expectedVersion: 0 })).status, 200);

  const other = await admin.post('/v1/datasets', { name: 'other', classes: ['x', 'y'] });
  ids.other = other.body.id;
  const otherForm = new FormData();
  otherForm.append('file', new Blob([await mnistPng('test', 9)], { type: 'image/png' }), '9.png');
  ids.otherItem = (await admin.post(`/v1/datasets/${ids.other}/items`, otherForm)).body.results[0].item.id;
  keys.scoped = (await key('scoped', 'labeller', [ids.dataset])).key;

  // A scoring job on "hostile" with one shard leased to us (BeginScoring stores shards: setup, not a case).
  const channel = createGrpcChannel(system.labelloop.grpcAddresses.dataset, { security: { internalToken: system.labelloop.internalToken } });
  const grpc = createGrpcClient(datasetV1.DatasetServiceDefinition, channel);
  await grpc.beginScoring({ datasetId: ids.dataset, modelId: 'm-hostile', modelVersion: 1, artifactPrefix: 'models/none/1/', shardSize: 10 });
  const claimed = await grpc.claimScoringShard({ datasetId: ids.dataset, worker: 'hostile-worker', leaseSeconds: 3600 });
  ids.shard = claimed.shard!.id;
  channel.close();

  ledger = new LedgerReader(system.labelloop.s3Endpoint, new Api(system.labelloop.gatewayUrl, keys.ledger), database?.db);
});

after(async () => {
  await ledger?.close();
  await system?.close();
  await database?.close();
});

// ------------------------------------------------------------------ how a case is sent and judged

interface Answer {
  /** What came back, e.g. `400 body.label: 'horse' is not a class…` or `INVALID_ARGUMENT …`. */
  summary: string;
}

function send(path: string, init: RequestInit & { key?: keyof typeof keys | null } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const key = init.key === undefined ? 'admin' : init.key;
  if (key) headers.set('authorization', `Bearer ${keys[key]}`);
  return fetch(system.labelloop.gatewayUrl + path, { ...init, headers });
}

/** Expects a problem+json answer with one of `statuses` whose detail (or an entry) matches `reason`. */
async function problem(response: Response, statuses: number | number[], reason?: RegExp, code?: string): Promise<Answer> {
  const text = await response.text();
  const wanted = Array.isArray(statuses) ? statuses : [statuses];
  assert.ok(wanted.includes(response.status), `got ${response.status}, expected ${wanted.join(' or ')}: ${text.slice(0, 400)}`);
  assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/);
  const body = JSON.parse(text) as { status: number; detail: string; errors?: Array<{ code: string; reason: string; path?: string }> };
  assert.equal(body.status, response.status);
  assert.ok(body.detail.length > 10, 'a clear reason');
  const all = [body.detail, ...(body.errors ?? []).map((e) => `${e.path ?? ''} ${e.code}: ${e.reason}`)].join(' | ');
  if (reason) assert.match(all, reason);
  if (code) assert.ok(body.errors?.some((e) => e.code === code), `no error entry with code ${code}: ${all}`);
  const entry = body.errors?.[0];
  return { summary: `${response.status} ${body.detail}${entry ? ` [${entry.code}: ${entry.reason}]` : ''}`.slice(0, 220) };
}

async function grpcCode(outcome: Promise<{ code: number; details: string }>, codes: number | number[], reason?: RegExp): Promise<Answer> {
  const { code, details } = await outcome;
  const wanted = Array.isArray(codes) ? codes : [codes];
  assert.ok(wanted.includes(code), `got ${STATUS[code] ?? code} (${details}), expected ${wanted.map((c) => STATUS[c]).join(' or ')}`);
  assert.ok(details.length > 5, 'a clear reason');
  if (reason) assert.match(details, reason);
  return { summary: `${STATUS[code]} ${details}`.slice(0, 220) };
}

function uploadForm(files: Array<{ name: string; bytes: Buffer; type?: string }>, label?: string): FormData {
  const form = new FormData();
  if (label !== undefined) form.append('label', label);
  for (const file of files) form.append('file', new Blob([file.bytes], { type: file.type ?? 'image/png' }), file.name);
  return form;
}

const upload = (files: Array<{ name: string; bytes: Buffer; type?: string }>, label?: string, dataset = ids.dataset) =>
  send(`/v1/datasets/${dataset}/items`, { method: 'POST', body: uploadForm(files, label) });

function importArchive(zip: Buffer, name = 'archive.zip'): Promise<Response> {
  const form = new FormData();
  form.append('archive', new Blob([zip], { type: 'application/zip' }), name);
  return send(`/v1/datasets/${ids.dataset}/imports`, { method: 'POST', body: form });
}

const json = (method: string, path: string, body: string | Buffer, key: keyof typeof keys = 'admin', type = 'application/json') =>
  send(path, { method, key, headers: { 'content-type': type }, body });

const grpcMessage = <T>(type: { encode(m: T): { finish(): Uint8Array } }, message: T) => Buffer.from(type.encode(message).finish());
const token = () => system.labelloop.internalToken;
const addr = (service: 'dataset' | 'trainer' | 'inference') => system.labelloop.grpcAddresses[service];
const cursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

interface Case {
  name: string;
  area: 'upload' | 'import' | 'json' | 'query' | 'ids' | 'labels' | 'access' | 'grpc';
  run: () => Promise<Answer>;
}

const cases: Case[] = [
  // ---- uploads: images that are not what they claim
  { area: 'upload', name: 'pixel bomb (PNG header claims 100000×100000)', run: async () => problem(await upload([{ name: 'bomb.png', bytes: pixelBombPng() }]), 400, /more than 4000000 pixels/, 'too_many_pixels') },
  { area: 'upload', name: 'truncated PNG', run: async () => problem(await upload([{ name: 'cut.png', bytes: png.subarray(0, png.length >> 1) }]), 400, /damaged or truncated/, 'corrupt_image') },
  { area: 'upload', name: 'corrupt PNG (compressed pixels flipped)', run: async () => problem(await upload([{ name: 'bad.png', bytes: corruptPng(png) }]), 400, /damaged/, 'corrupt_image') },
  { area: 'upload', name: 'polyglot: PNG with a ZIP appended', run: async () => problem(await upload([{ name: 'poly.png', bytes: Buffer.concat([png, rawZip([{ name: 'x.txt', content: Buffer.from('hi') }])]) }]), 400, /after the end of its PNG image/, 'trailing_data') },
  { area: 'upload', name: 'polyglot: HTML/JS file named .png (image/png)', run: async () => problem(await upload([{ name: 'page.png', bytes: HTML_AS_PNG }]), 400, /not a JPEG, PNG or WebP/, 'not_an_image') },
  { area: 'upload', name: 'SVG with a script named .png', run: async () => problem(await upload([{ name: 'x.png', bytes: SVG_WITH_SCRIPT }]), 400, /SVG images are not accepted/, 'unsupported_format') },
  { area: 'upload', name: 'GIF (unsupported format)', run: async () => problem(await upload([{ name: 'x.gif', bytes: GIF, type: 'image/gif' }]), 400, /GIF/, 'unsupported_format') },
  { area: 'upload', name: 'JPEG magic bytes followed by garbage', run: async () => problem(await upload([{ name: 'x.jpg', bytes: FAKE_JPEG, type: 'image/jpeg' }]), 400, /JPEG file is damaged/, 'corrupt_image') },
  { area: 'upload', name: 'empty file', run: async () => problem(await upload([{ name: 'empty.png', bytes: Buffer.alloc(0) }]), 400, /empty/, 'empty_file') },
  { area: 'upload', name: 'file over MAX_IMAGE_BYTES (1.5 MiB)', run: async () => problem(await upload([{ name: 'big.png', bytes: Buffer.concat([png, Buffer.alloc(1.5 * MiB)]) }]), 400, /larger than the 1048576 bytes/, 'too_large') },
  { area: 'upload', name: 'huge multipart body: 21 files over MAX_FILES_PER_UPLOAD', run: async () => problem(await upload(Array.from({ length: 21 }, (_, i) => ({ name: `${i}.png`, bytes: png }))), 413, /20/) },
  {
    area: 'upload',
    name: 'multipart body cut off before its closing boundary',
    run: async () => {
      const body = `--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n${png.subarray(0, 40).toString('latin1')}`;
      return problem(await send(`/v1/datasets/${ids.dataset}/items`, { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=xyz' }, body: Buffer.from(body, 'latin1') }), 400);
    },
  },
  { area: 'upload', name: 'wrong content type: JSON sent to the upload route', run: async () => problem(await json('POST', `/v1/datasets/${ids.dataset}/items`, '{"file":"x"}'), 415, /multipart\/form-data/) },
  { area: 'upload', name: 'label outside the class list', run: async () => problem(await upload([{ name: 'ok.png', bytes: await mnistPng('test', 20) }], 'horse'), 400, /'horse' is not a class/) },
  { area: 'upload', name: 'label with path separators and control characters', run: async () => problem(await upload([{ name: 'ok.png', bytes: await mnistPng('test', 21) }], '../cat\u0007'), 400, /not a class/) },
  { area: 'upload', name: 'upload to an unknown dataset (uuid)', run: async () => problem(await upload([{ name: 'ok.png', bytes: await mnistPng('test', 22) }], undefined, '00000000-0000-4000-8000-000000000000'), 404, /not found/) },
  { area: 'upload', name: 'upload to a dataset id that is a path (..%2F..%2Fetc)', run: async () => problem(await upload([{ name: 'ok.png', bytes: await mnistPng('test', 23) }], undefined, '..%2F..%2Fetc'), 404) },

  // ---- imports: archives that try to escape, explode or lie
  { area: 'import', name: 'ZIP slip (../../evil.png)', run: async () => problem(await importArchive(rawZip([{ name: '../../evil.png', content: png }])), 400, /\.\./) },
  { area: 'import', name: 'absolute path in archive (/etc/evil.png)', run: async () => problem(await importArchive(rawZip([{ name: '/etc/evil.png', content: png }])), 400, /absolute|unsafe/i) },
  { area: 'import', name: 'backslash traversal in archive (..\\..\\evil.png)', run: async () => problem(await importArchive(rawZip([{ name: 'cat\\..\\..\\evil.png', content: png }])), 400) },
  { area: 'import', name: 'symlink in archive (cat/link.png → /etc/passwd)', run: async () => problem(await importArchive(rawZip([{ name: 'cat/link.png', content: Buffer.from('/etc/passwd'), mode: 0o120777 }])), 400, /link/i) },
  { area: 'import', name: 'ZIP bomb (50 MiB of zeros in one entry)', run: async () => problem(await importArchive(rawZip([{ name: 'cat/bomb.png', content: Buffer.alloc(50 * MiB), deflate: true }])), [400, 413], /ratio|unpack|expand|bomb|large/i) },
  { area: 'import', name: 'archive with more entries than MAX_ARCHIVE_ENTRIES (101)', run: async () => problem(await importArchive(rawZip(Array.from({ length: 101 }, (_, i) => ({ name: `cat/${i}.png`, content: png })))), [400, 413], /100/) },
  { area: 'import', name: 'not a ZIP (a PNG named archive.zip)', run: async () => problem(await importArchive(png), 400, /zip/i) },
  { area: 'import', name: 'truncated ZIP', run: async () => { const zip = rawZip([{ name: 'cat/a.png', content: png }]); return problem(await importArchive(zip.subarray(0, zip.length - 30)), 400, /zip/i); } },
  { area: 'import', name: 'class folder not in the class list (horse/)', run: async () => problem(await importArchive(rawZip([{ name: 'horse/a.png', content: png }])), 400, /horse/) },
  { area: 'import', name: 'encrypted entry', run: async () => problem(await importArchive(rawZip([{ name: 'cat/a.png', content: png, flags: 1 }])), 400, /encrypt/i) },
  { area: 'import', name: 'NUL and control characters in an entry name', run: async () => problem(await importArchive(rawZip([{ name: 'cat/a\u0000b.png', content: png }])), 400) },
  { area: 'import', name: 'archive over MAX_ARCHIVE_BYTES (9 MiB)', run: async () => problem(await importArchive(rawZip([{ name: 'cat/a.png', content: Buffer.alloc(9 * MiB, 1) }])), 413) },
  { area: 'import', name: 'wrong content type: raw application/zip body', run: async () => problem(await send(`/v1/datasets/${ids.dataset}/imports`, { method: 'POST', headers: { 'content-type': 'application/zip' }, body: rawZip([{ name: 'cat/a.png', content: png }]) }), 415) },

  // ---- JSON bodies and names
  { area: 'json', name: 'malformed JSON', run: async () => problem(await json('POST', '/v1/datasets', '{"name": "x", "classes": ["a",]'), 400, /not valid JSON/) },
  { area: 'json', name: 'deeply nested JSON (20000 levels)', run: async () => problem(await json('POST', '/v1/datasets', `{"name":${'['.repeat(20_000)}${']'.repeat(20_000)},"classes":["a"]}`), 400) },
  { area: 'json', name: 'huge JSON body (100 KiB > MAX_JSON_BYTES)', run: async () => problem(await json('POST', '/v1/datasets', JSON.stringify({ name: 'x', classes: Array.from({ length: 9000 }, (_, i) => `class-${i}`) })), 413, /larger/) },
  { area: 'json', name: 'invalid UTF-8 in a JSON body', run: async () => problem(await json('POST', '/v1/datasets', Buffer.concat([Buffer.from('{"name":"bad'), Buffer.from([0xc3, 0x28]), Buffer.from('","classes":["a"]}')])), 400, /UTF-8/) },
  { area: 'json', name: 'JSON sent as text/plain', run: async () => problem(await json('POST', '/v1/datasets', '{"name":"x","classes":["a"]}', 'admin', 'text/plain'), 415, /application\/json/) },
  { area: 'json', name: 'prototype pollution / unknown fields (__proto__, admin)', run: async () => problem(await json('POST', '/v1/datasets', '{"name":"x","classes":["a"],"__proto__":{"admin":true},"admin":true}'), 400, /unrecognized|Unrecognized/i) },
  { area: 'json', name: 'control characters in a dataset name', run: async () => problem(await json('POST', '/v1/datasets', JSON.stringify({ name: 'evil\u0000\u001b[31mname', classes: ['a'] })), 400, /control characters/) },
  { area: 'json', name: "path separator in a dataset name ('a/b')", run: async () => problem(await json('POST', '/v1/datasets', JSON.stringify({ name: '../a/b', classes: ['a'] })), 400, /'\/'/) },
  { area: 'json', name: 'bidirectional override in a dataset name', run: async () => problem(await json('POST', '/v1/datasets', JSON.stringify({ name: 'invoice\u202Egnp.exe', classes: ['a'] })), 400, /bidirectional/) },
  { area: 'json', name: 'path separators in class names (../x, a\\b)', run: async () => problem(await json('POST', '/v1/datasets', JSON.stringify({ name: 'paths', classes: ['../x', 'a\\b'] })), 400, /must not contain/) },
  { area: 'json', name: "class names '..' and with control characters", run: async () => problem(await json('POST', '/v1/datasets', JSON.stringify({ name: 'dots', classes: ['..', 'tab\there'] })), 400, /path segment|control/) },
  { area: 'json', name: 'duplicate class names', run: async () => problem(await json('POST', '/v1/datasets', JSON.stringify({ name: 'dupes', classes: ['a', 'a'] })), 400, /twice/) },
  { area: 'json', name: 'more classes than allowed (1001)', run: async () => problem(await json('POST', '/v1/datasets', JSON.stringify({ name: 'many', classes: Array.from({ length: 1001 }, (_, i) => `c${i}`) })), 400, /1000 classes/) },
  { area: 'json', name: 'absurd image spec (width 10^9)', run: async () => problem(await json('POST', '/v1/datasets', JSON.stringify({ name: 'wide', classes: ['a'], image: { width: 1e9, height: 28, channels: 1 } })), 400, /width/) },
  { area: 'json', name: 'negative split ratios', run: async () => problem(await json('POST', '/v1/datasets', JSON.stringify({ name: 'ratios', classes: ['a'], splits: { train: -1, validation: 1, test: 1 } })), 400) },

  // ---- query strings: SQL injection in every filter, enormous limits, forged cursors
  { area: 'query', name: "SQL injection in items?label= (' OR '1'='1)", run: async () => problem(await send(`/v1/datasets/${ids.dataset}/items?label=${encodeURIComponent("' OR '1'='1")}`), 400, /not a class/) },
  { area: 'query', name: 'SQL injection in items?status=', run: async () => problem(await send(`/v1/datasets/${ids.dataset}/items?status=${encodeURIComponent("labelled' OR 1=1--")}`), 400, /status/) },
  { area: 'query', name: 'SQL injection in items?split=', run: async () => problem(await send(`/v1/datasets/${ids.dataset}/items?split=${encodeURIComponent('train; DROP TABLE dataset.items')}`), 400, /split/) },
  { area: 'query', name: 'SQL injection in items?source=', run: async () => problem(await send(`/v1/datasets/${ids.dataset}/items?source=${encodeURIComponent("human' UNION SELECT key_hash FROM gateway.api_keys--")}`), 400, /source/) },
  { area: 'query', name: 'SQL injection in items?cursor=', run: async () => problem(await send(`/v1/datasets/${ids.dataset}/items?cursor=${encodeURIComponent("' OR 1=1--")}`), 400, /cursor/) },
  { area: 'query', name: 'forged cursor on datasets (after: -1)', run: async () => problem(await send(`/v1/datasets?cursor=${cursor({ v: 1, after: -1 })}`), 400, /cursor is not valid/) },
  { area: 'query', name: 'forged cursor on items (after: "1; DROP")', run: async () => problem(await send(`/v1/datasets/${ids.dataset}/items?cursor=${cursor({ v: 1, after: '1; DROP TABLE x' })}`), 400, /cursor is not valid/) },
  { area: 'query', name: 'enormous limit on datasets (10^9)', run: async () => problem(await send('/v1/datasets?limit=1000000000'), 400, /limit/) },
  { area: 'query', name: 'SQL injection in datasets?limit=', run: async () => problem(await send(`/v1/datasets?limit=${encodeURIComponent('1 OR 1=1')}`), 400, /limit/) },
  { area: 'query', name: 'SQL injection in datasets?deleted=', run: async () => problem(await send(`/v1/datasets?deleted=${encodeURIComponent("true' --")}`), 400, /deleted/) },
  { area: 'query', name: 'enormous limit on scoring-jobs', run: async () => problem(await send(`/v1/datasets/${ids.dataset}/scoring-jobs?limit=99999999`), 400, /limit/) },
  { area: 'query', name: 'SQL injection in training-runs?cursor= (real trainer)', run: async () => problem(await send(`/v1/datasets/${ids.dataset}/training-runs?cursor=${encodeURIComponent("' OR 1=1--")}`), 400, /cursor/) },
  { area: 'query', name: 'enormous limit on training-runs', run: async () => problem(await send(`/v1/datasets/${ids.dataset}/training-runs?limit=1e9`), 400, /limit/) },
  { area: 'query', name: 'unknown export format and source (export?format=exe&source=evil)', run: async () => problem(await send(`/v1/datasets/${ids.dataset}/export?format=exe&source=human,evil`), 400, /format|source/) },
  { area: 'query', name: 'export?minConfidence=NaN', run: async () => problem(await send(`/v1/datasets/${ids.dataset}/export?minConfidence=NaN`), 400, /minConfidence/) },
  { area: 'query', name: 'enormous limit on review/next', run: async () => problem(await send(`/v1/datasets/${ids.dataset}/review/next?limit=1000000`, { key: 'labeller' }), 400, /limit/) },
  { area: 'query', name: 'predict?topK=-1', run: async () => problem(await send(`/v1/datasets/${ids.dataset}/predict?topK=-1`, { method: 'POST', body: uploadForm([{ name: 'a.png', bytes: png }]) }), 400, /topK/) },

  // ---- ids
  { area: 'ids', name: 'unknown item (uuid)', run: async () => problem(await send('/v1/items/00000000-0000-4000-8000-000000000001'), 404, /not found/) },
  { area: 'ids', name: "non-uuid item id ('1 OR 1=1')", run: async () => problem(await send(`/v1/items/${encodeURIComponent('1 OR 1=1')}`), 404, /not found/) },
  { area: 'ids', name: 'unknown import', run: async () => problem(await send('/v1/imports/00000000-0000-4000-8000-000000000002'), 404, /not found/) },
  { area: 'ids', name: 'unknown training run (uuid, real trainer)', run: async () => problem(await send('/v1/training-runs/00000000-0000-4000-8000-000000000003'), 404, /not found/) },
  { area: 'ids', name: 'model id that is not a uuid (real trainer)', run: async () => problem(await send('/v1/models/not-a-model'), 400, /must be a uuid/) },
  { area: 'ids', name: 'unknown model (uuid, real trainer)', run: async () => problem(await send('/v1/models/00000000-0000-4000-8000-000000000008'), 404, /not found/) },
  { area: 'ids', name: 'unknown dataset (uuid)', run: async () => problem(await send('/v1/datasets/00000000-0000-4000-8000-000000000004'), 404, /not found/) },
  { area: 'ids', name: 'invalid percent-encoding in the path', run: async () => problem(await send('/v1/items/%E0%A4%A'), 400, /percent-encoding/) },
  { area: 'ids', name: 'id longer than 128 characters', run: async () => problem(await send(`/v1/items/${'a'.repeat(500)}`), 400, /params\.id/) },

  // ---- labels
  { area: 'labels', name: 'label outside the class list', run: async () => problem(await json('PUT', `/v1/items/${ids.item2}/label`, JSON.stringify({ label: 'horse' }), 'labeller'), 400, /horse/) },
  { area: 'labels', name: 'stale expectedVersion', run: async () => problem(await json('PUT', `/v1/items/${ids.item}/label`, JSON.stringify({ label: 'dog', expectedVersion: 0 }), 'labeller'), 409, /version/) },
  {
    area: 'labels',
    name: 'review answers for items not leased (each refused: not_leased; 200 by design, see the note)',
    run: async () => {
      const response = await json('POST', `/v1/datasets/${ids.dataset}/review`, JSON.stringify({ answers: [{ itemId: ids.item2, action: 'label', label: 'dog' }, { itemId: ids.otherItem, action: 'not_in_classes' }] }), 'labeller');
      assert.equal(response.status, 200);
      const { results } = (await response.json()) as { results: Array<{ accepted: boolean; code: string; reason: string }> };
      assert.deepEqual(results.map((r) => [r.accepted, r.code]), [[false, 'not_leased'], [false, 'not_leased']]);
      return { summary: `200, every answer refused: ${results.map((r) => `${r.code} (${r.reason})`).join('; ')}` };
    },
  },
  { area: 'labels', name: 'review answer body with action label but no label', run: async () => problem(await json('POST', `/v1/datasets/${ids.dataset}/review`, JSON.stringify({ answers: [{ itemId: ids.item2, action: 'label' }] }), 'labeller'), 400, /label/) },

  // ---- access
  { area: 'access', name: 'a 10 KB bearer token', run: async () => problem(await send('/v1/datasets', { key: null, headers: { authorization: `Bearer ${'x'.repeat(10_000)}` } }), 401, /unknown or revoked/) },
  { area: 'access', name: 'revoked key', run: async () => problem(await send('/v1/datasets', { key: 'revoked' }), 401, /unknown or revoked/) },
  { area: 'access', name: 'viewer tries to label', run: async () => problem(await json('PUT', `/v1/items/${ids.item2}/label`, JSON.stringify({ label: 'dog' }), 'viewer'), 403, /labeller role/) },
  { area: 'access', name: "scoped key on another dataset's item", run: async () => problem(await json('PUT', `/v1/items/${ids.otherItem}/label`, JSON.stringify({ label: 'x' }), 'scoped'), 404, /There is no item/) },
  { area: 'access', name: 'scoped key on a training run (real trainer)', run: async () => problem(await send('/v1/training-runs/00000000-0000-4000-8000-000000000005', { key: 'scoped' }), 404) },

  // ---- gRPC ports: no token, raw garbage, truncated and mistyped messages, replays, other datasets' shards
  { area: 'grpc', name: 'dataset port without the internal token', run: () => grpcCode(rawUnary(addr('dataset'), `${GRPC.dataset}ListDatasets`, Buffer.alloc(0)), 16, /internal token/) },
  { area: 'grpc', name: 'trainer port without the internal token', run: () => grpcCode(rawUnary(addr('trainer'), `${GRPC.trainer}ListModels`, Buffer.alloc(0)), 16, /internal token/) },
  { area: 'grpc', name: 'inference port with a wrong internal token', run: () => grpcCode(rawUnary(addr('inference'), `${GRPC.inference}ListLoadedModels`, Buffer.alloc(0), `${token()}x`), 16, /internal token/) },
  { area: 'grpc', name: 'dataset GetDataset: raw garbage frame', run: () => grpcCode(rawUnary(addr('dataset'), `${GRPC.dataset}GetDataset`, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02]), token()), 3, /not a valid GetDatasetRequest/) },
  {
    area: 'grpc',
    name: 'dataset SetLabel: truncated message',
    run: () => {
      const whole = grpcMessage(datasetV1.SetLabelRequest, { itemId: ids.item2, label: 'dog', source: 1, actor: 'mallory', modelVersion: '' });
      return grpcCode(rawUnary(addr('dataset'), `${GRPC.dataset}SetLabel`, whole.subarray(0, whole.length - 5), token()), 3, /not a valid SetLabelRequest/);
    },
  },
  // item_id (field 1, a string) sent as a varint: the decoder skips it, so the id is empty.
  { area: 'grpc', name: 'dataset GetItem: wrong field type (string field as varint)', run: () => grpcCode(rawUnary(addr('dataset'), `${GRPC.dataset}GetItem`, Buffer.from([0x08, 0x96, 0x01]), token()), 5, /not found/) },
  { area: 'grpc', name: 'dataset UploadItems: a stream of garbage frames', run: () => grpcCode(rawClientStream(addr('dataset'), `${GRPC.dataset}UploadItems`, [Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), Buffer.from('garbage')], token()), 3, /not a valid UploadItemsRequest/) },
  {
    area: 'grpc',
    name: "dataset RecordPredictions: predictions for another dataset's item",
    run: () =>
      grpcCode(
        rawUnary(addr('dataset'), `${GRPC.dataset}RecordPredictions`, grpcMessage(datasetV1.RecordPredictionsRequest, { shardId: ids.shard, worker: 'hostile-worker', predictions: [{ itemId: ids.otherItem, probabilities: [0.5, 0.5], acquisitionScore: 0.1, embedding: [] }] }), token()),
        3,
        /not an item of this shard/,
      ),
  },
  {
    area: 'grpc',
    name: 'dataset RecordPredictions: a shard leased to someone else',
    run: () => grpcCode(rawUnary(addr('dataset'), `${GRPC.dataset}RecordPredictions`, grpcMessage(datasetV1.RecordPredictionsRequest, { shardId: ids.shard, worker: 'mallory', predictions: [] }), token()), 9, /leased to "hostile-worker"/),
  },
  { area: 'grpc', name: 'dataset RecordPredictions: unknown shard', run: () => grpcCode(rawUnary(addr('dataset'), `${GRPC.dataset}RecordPredictions`, grpcMessage(datasetV1.RecordPredictionsRequest, { shardId: '00000000-0000-4000-8000-000000000006', worker: 'hostile-worker', predictions: [] }), token()), 5, /not found/) },
  {
    area: 'grpc',
    name: 'dataset SetLabel: replayed request (expected_version 0 again)',
    run: () => grpcCode(rawUnary(addr('dataset'), `${GRPC.dataset}SetLabel`, grpcMessage(datasetV1.SetLabelRequest, { itemId: ids.item, label: 'cat', source: 1, actor: 'admin', modelVersion: '', expectedVersion: 0 }), token()), 10, /version/),
  },
  {
    area: 'grpc',
    name: 'dataset UploadItem: a pixel bomb in a valid message (REJECTED result)',
    run: async () => {
      const outcome = await rawUnary(addr('dataset'), `${GRPC.dataset}UploadItem`, grpcMessage(datasetV1.UploadItemRequest, { datasetId: ids.dataset, fileName: 'bomb.png', content: pixelBombPng(), label: '', actor: 'mallory' }), token());
      assert.equal(outcome.code, 0, outcome.details);
      const response = datasetV1.UploadItemResponse.decode(outcome.response!);
      assert.equal(response.outcome, datasetV1.UploadOutcome.UPLOAD_OUTCOME_REJECTED);
      assert.equal(response.error?.code, 'too_many_pixels');
      return { summary: `OK, outcome REJECTED: ${response.error!.code} (${response.error!.reason})` };
    },
  },
  { area: 'grpc', name: 'trainer StartTrainingRun: raw garbage frame', run: () => grpcCode(rawUnary(addr('trainer'), `${GRPC.trainer}StartTrainingRun`, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02]), token()), 3, /not a valid StartTrainingRunRequest/) },
  { area: 'grpc', name: 'trainer StartTrainingRun: a message cut inside its hyper_parameters', run: () => grpcCode(rawUnary(addr('trainer'), `${GRPC.trainer}StartTrainingRun`, Buffer.from([0x12, 0x7f, 0x00]), token()), 3, /optimizer is required|not a valid/) },
  { area: 'grpc', name: 'trainer GetModel: a model id that is not a uuid', run: () => grpcCode(rawUnary(addr('trainer'), `${GRPC.trainer}GetModel`, Buffer.from([0x0a, 0x03, 0x61, 0x62, 0x63]), token()), 3, /must be a uuid/) },
  { area: 'grpc', name: 'inference Predict: raw garbage frame', run: () => grpcCode(rawUnary(addr('inference'), `${GRPC.inference}Predict`, Buffer.from([0x1a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]), token()), 3, /not a valid PredictRequest/) },
  {
    area: 'grpc',
    name: 'inference Predict: a dataset that does not exist',
    run: () => grpcCode(rawUnary(addr('inference'), `${GRPC.inference}Predict`, grpcMessage(inferenceV1.PredictRequest, { datasetId: '00000000-0000-4000-8000-000000000007', images: [{ fileName: 'a.png', content: png }], topK: 1 }), token()), [5, 9]),
  },
];

const results: Array<{ area: string; name: string; result: string }> = [];

async function healthy(): Promise<void> {
  const ready = await fetch(`${system.labelloop.gatewayUrl}/readyz`);
  assert.equal(ready.status, 200, 'gateway /readyz');
  for (const service of ['dataset', 'trainer', 'inference'] as const) {
    assert.ok(await isGrpcServing(addr(service), { timeoutMs: 15_000 }), `${service} grpc.health.v1 SERVING`);
  }
}

describe('hostile input: a 4xx with a reason, nothing stored, every service healthy', () => {
  after(() => {
    const lines = results.map((r, i) => `${String(i + 1).padStart(2)}. [${r.area}] ${r.name} → ${r.result}`);
    console.log(`hostile input: ${results.length} cases (rows counted in PostgreSQL: ${database ? 'yes' : 'no, PGlite: API counts and S3 objects'})\n${lines.join('\n')}`);
  });

  test('at least 40 cases, over REST and all three gRPC ports', () => {
    assert.ok(cases.length >= 40, `${cases.length} cases`);
    for (const service of ['dataset', 'trainer', 'inference']) {
      assert.ok(cases.filter((c) => c.area === 'grpc' && c.name.startsWith(service)).length >= 2, `${service} port cases`);
    }
  });

  for (const c of cases) {
    test(`[${c.area}] ${c.name}`, async (t) => {
      const before: Ledger = await ledger.read();
      let answer: Answer;
      try {
        answer = await c.run();
      } catch (err) {
        results.push({ area: c.area, name: c.name, result: `FAILED: ${(err as Error).message.split('\n')[0]}` });
        throw err;
      }
      const afterwards = await ledger.read();
      assert.deepEqual(afterwards, before, 'nothing stored');
      await healthy();
      results.push({ area: c.area, name: c.name, result: answer.summary });
      t.diagnostic(answer.summary);
    });
  }
});

test('no API key, no 12 characters of one and not the internal token in any service log', async () => {
  // Every key was used above (the revoked and the bogus ones too) with the services logging at debug.
  const logsDir = join(system.dataDir, 'logs');
  const logs = readdirSync(logsDir).map((file) => ({ file, text: readFileSync(join(logsDir, file), 'utf8') }));
  assert.deepEqual(logs.map((l) => l.file).sort(), ['dataset.log', 'gateway.log', 'inference.log', 'trainer.log']);
  assert.ok(logs.every((l) => l.text.length > 1000), 'the services did log');
  const secrets = { ...keys, internalToken: token() };
  for (const [name, secret] of Object.entries(secrets)) {
    const body = secret.startsWith('llk_') ? secret.slice(4) : secret;
    for (const { file, text } of logs) {
      assert.ok(!text.includes(secret), `${name} is in ${file}`);
      for (let i = 0; i + 12 <= body.length; i++) {
        const piece = body.slice(i, i + 12);
        assert.ok(!text.includes(piece), `12 characters of ${name} (${i}…) are in ${file}`);
      }
    }
  }
  // The admin key banner went to the launcher, not to the log file.
  assert.match(logs.find((l) => l.file === 'gateway.log')!.text, /withheld from this log: it holds a secret/);
});
