// bench/load: 100 simulated labellers pulling review leases (GET /v1/datasets/{id}/review/next) and
// answering them (POST /v1/datasets/{id}/review) through the REST gateway for 60 s, against a
// dataset of 100,000 items whose review queue comes from a finished scoring job, on PostgreSQL.
// Checks: zero errors, zero items leased to two labellers; reports p50/p99 of both routes, and
// throughput as a ratio against the gateway's own /healthz measured in the same run.
//
// Usage: npm run bench:load [-- --items 100000 --labellers 100 --duration 60 --limit 10 --rate 1
//   --saturation 20 --healthz 10 --warmup 3 --measure-import 2000 --keep-database]
// DATABASE_URL names the PostgreSQL server (default postgres://postgres@127.0.0.1:5432/test); the
// bench creates a fresh database on it and drops it at the end. Build first (`npx turbo run build`).
// BENCH_SLOW=<ms> logs when each lease or answer slower than that ended (finding latency spikes).
//
// A labeller works as the web app does: it leases `--limit` images, then answers each in its own
// POST, then leases again. Every labeller is one autocannon instance (one connection) with its own
// API key (its own lease holder). Two load phases:
//   paced      — each labeller makes `--rate` requests a second (1: an image answered about every
//                second, a brisk human), the labellers' seconds staggered over the second as
//                people's are; the latency goal (review/next p99 < 50 ms) is measured here, after
//                `--warmup` seconds whose latencies are left out (every lease still counts for the
//                leased-twice check);
//   saturation — the same labellers with no pause at all: the most the review path sustains, as a
//                ratio to /healthz driven by as many connections, before and after the phases.
// A /healthz probe at 10 requests a second runs alongside each phase: the latency the machine
// itself adds (other processes on the same cores). CPU ms per request by process comes from /proc.
// The dataset: items are inserted with SQL (100,000 uploads would measure ingestion, not review —
// the real import path is timed on `--measure-import` files and extrapolated); the review queue is
// made by the dataset service itself: BeginScoring, then every shard claimed and recorded over gRPC
// with planted probabilities, whose finalization queues every pool item by its margin score.
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { acquisitionScore } from '@labelloop/active-learning';
import { createGrpcChannel, createGrpcClient } from '@labelloop/common';
import { datasetV1 } from '@labelloop/proto';
import { startLabelloop } from '@labelloop/scripts';
import { makeTempDir, uniqueSuffix } from '@labelloop/testing';
import autocannon from 'autocannon';
import pg from 'pg';
import sharp from 'sharp';
import yazl from 'yazl';

const { values: flags } = parseArgs({
  options: {
    items: { type: 'string', default: '100000' },
    labellers: { type: 'string', default: '100' },
    duration: { type: 'string', default: '60' },
    limit: { type: 'string', default: '10' },
    rate: { type: 'string', default: '1' },
    saturation: { type: 'string', default: '20' },
    healthz: { type: 'string', default: '10' },
    'measure-import': { type: 'string', default: '2000' },
    warmup: { type: 'string', default: '3' },
    'keep-database': { type: 'boolean', default: false },
  },
  strict: true,
});
function int(name: keyof typeof flags, min: number): number {
  const value = Number(flags[name]);
  if (!Number.isInteger(value) || value < min) throw new Error(`--${name} must be an integer ≥ ${min}, got ${flags[name]}`);
  return value;
}
const ITEMS = int('items', 1);
const LABELLERS = int('labellers', 1);
const DURATION = int('duration', 1);
const LIMIT = int('limit', 1);
const RATE = int('rate', 0);
const SATURATION = int('saturation', 0);
const HEALTHZ = int('healthz', 1);
const MEASURE_IMPORT = int('measure-import', 0);
const WARMUP_MS = int('warmup', 0) * 1000;
const CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
const ADMIN_KEY = `bench-load-admin-${randomUUID()}`;
const log = (line: string) => console.error(`[bench:load ${new Date().toISOString().slice(11, 19)}] ${line}`);

// ---- a fresh database on the server ----
const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const dbName = `labelloop_bench_load_${uniqueSuffix()}`;
const databaseUrl = (() => {
  const url = new URL(serverUrl);
  url.pathname = `/${dbName}`;
  return url.toString();
})();
async function onServer(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
await onServer(`CREATE DATABASE ${dbName}`);

const dir = makeTempDir('bench-load');
const env: NodeJS.ProcessEnv = { ...process.env };
for (const name of ['NATS_URL', 'S3_ENDPOINT', 'PORT']) delete env[name];
Object.assign(env, {
  DATABASE_URL: databaseUrl,
  LABELLOOP_ADMIN_KEY: ADMIN_KEY,
  // The bench plays the scorer itself (planted predictions): the inference service must not claim shards.
  SCORING_ENABLED: 'false',
  // 100 labellers from one address are not an attack: the gateway's rate limits stay out of the way.
  RATE_LIMIT_PER_MINUTE: '0',
  RATE_LIMIT_ANONYMOUS_PER_MINUTE: '0',
  LOG_LEVEL: env.LOG_LEVEL ?? 'warn',
});
log(`starting labelloop on ${databaseUrl.replace(/\/\/[^@]*@/, '//')}`);
const labelloop = await startLabelloop({ dataDir: join(dir.path, 'system'), env, gatewayPort: 0, freeInternalPorts: true }).catch(async (err: unknown) => {
  dir.remove();
  await onServer(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  throw err;
});
const db = new pg.Pool({ connectionString: databaseUrl, max: 4 });
const api = labelloop.gatewayUrl;

async function rest(method: string, path: string, body?: unknown, key = ADMIN_KEY): Promise<any> {
  const init: RequestInit = { method, headers: { authorization: `Bearer ${key}` } };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] = 'application/json';
  }
  const response = await fetch(`${api}${path}`, init);
  const parsed = await response.json().catch(() => undefined);
  if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${JSON.stringify(parsed)}`);
  return parsed;
}

/** A grey 28×28 PNG no other index produces. */
function tinyPng(index: number): Promise<Buffer> {
  const pixels = Buffer.alloc(28 * 28);
  for (let i = 0; i < 8; i++) pixels[i] = (index >> (i * 4)) & 0xff;
  for (let i = 8; i < pixels.length; i++) pixels[i] = (index * 31 + i * 7) & 0xff;
  return sharp(pixels, { raw: { width: 28, height: 28, channels: 1 } }).toColourspace('b-w').png().toBuffer();
}

/** The real import path on `count` tiny PNGs in a ZIP: images per second, end to end. */
async function measureImport(count: number): Promise<{ images: number; seconds: number; perSecond: number; extrapolatedSeconds: number }> {
  const { id } = await rest('POST', '/v1/datasets', { name: `bench-load-import-${uniqueSuffix()}`, classes: CLASSES });
  const zip = new yazl.ZipFile();
  for (let i = 0; i < count; i++) zip.addBuffer(await tinyPng(i), `${CLASSES[i % 10]}/img-${i}.png`, { compress: false });
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  const form = new FormData();
  form.append('archive', new Blob([Buffer.concat(chunks)], { type: 'application/zip' }), 'bench.zip');
  const started = performance.now();
  const importJob = await rest('POST', `/v1/datasets/${id}/imports`, form);
  for (;;) {
    const state = await rest('GET', `/v1/imports/${importJob.id}`);
    if (state.status !== 'running' && state.status !== 'pending') {
      if (state.status !== 'succeeded') throw new Error(`import ended ${state.status}: ${JSON.stringify(state)}`);
      break;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const seconds = (performance.now() - started) / 1000;
  return { images: count, seconds: round(seconds, 1), perSecond: Math.round(count / seconds), extrapolatedSeconds: Math.round((ITEMS / count) * seconds) };
}

/** Items of the dataset, inserted as the dataset service's ingestion would leave them (unlabelled). */
async function insertItems(datasetId: string): Promise<number> {
  const started = performance.now();
  for (let from = 0; from < ITEMS; from += 20_000) {
    const to = Math.min(ITEMS, from + 20_000);
    await db.query(
      `INSERT INTO dataset.items (id, dataset_id, sha256, file_name, width, height, format, size_bytes)
       SELECT gen_random_uuid(), $1::uuid, encode(sha256(convert_to($1::text || ':' || g, 'UTF8')), 'hex'), 'img-' || g || '.png', 28, 28, 'png', 120
         FROM generate_series($2::int, $3::int) AS g`,
      [datasetId, from, to - 1],
    );
  }
  await db.query('ANALYZE dataset.items');
  return (performance.now() - started) / 1000;
}

/** Deterministic pseudo-random numbers (mulberry32). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The review queue, by the dataset service: a scoring job whose every shard is recorded with planted predictions. */
async function scoreEverything(datasetId: string): Promise<{ seconds: number; tasks: number }> {
  const started = performance.now();
  const channel = createGrpcChannel(labelloop.grpcAddresses.dataset, {
    maxMessageBytes: 64 * 1024 * 1024,
    security: { internalToken: labelloop.internalToken },
  });
  const client = createGrpcClient(datasetV1.DatasetServiceDefinition, channel, { defaultDeadlineMs: 300_000 });
  const random = seeded(7);
  try {
    const { job } = await client.beginScoring({ datasetId, modelId: 'bench-planted', modelVersion: 1, artifactPrefix: `models/${datasetId}/1/`, shardSize: 2000 });
    for (;;) {
      const { shard } = await client.claimScoringShard({ datasetId, worker: 'bench-load', leaseSeconds: 600 });
      if (!shard) break;
      const predictions = shard.items.map((item) => {
        const raw = CLASSES.map(() => random() ** 3);
        const sum = raw.reduce((a, b) => a + b, 0);
        const probabilities = raw.map((p) => p / sum);
        return { itemId: item.itemId, probabilities, acquisitionScore: acquisitionScore('margin', probabilities), embedding: [] };
      });
      await client.recordPredictions({ shardId: shard.id, worker: 'bench-load', predictions });
    }
    for (;;) {
      const { job: state } = await client.getScoringJob({ jobId: job!.id });
      if (state!.status === datasetV1.ScoringStatus.SCORING_STATUS_SUCCEEDED) break;
      if (state!.status === datasetV1.ScoringStatus.SCORING_STATUS_FAILED) throw new Error(`scoring failed: ${state!.failureReason}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    channel.close();
  }
  await db.query('ANALYZE dataset.review_tasks; ANALYZE dataset.predictions');
  const { rows } = await db.query<{ n: string }>('SELECT count(*) AS n FROM dataset.review_tasks WHERE dataset_id = $1', [datasetId]);
  return { seconds: (performance.now() - started) / 1000, tasks: Number(rows[0]!.n) };
}

// ---- latency bookkeeping (client side: from the request's build, right before it is written, to its answer) ----
class Samples {
  readonly values: number[] = [];
  /** When each sample ended (ms since the process started), for BENCH_SLOW diagnostics. */
  readonly at: number[] = [];
  add(ms: number): void {
    this.values.push(ms);
    this.at.push(performance.now());
  }
  /** Seconds (from `since`) at which samples over `ms` ended, with their latency. */
  slow(ms: number, since: number): string {
    return this.values
      .map((v, i) => [v, (this.at[i]! - since) / 1000] as const)
      .filter(([v]) => v > ms)
      .map(([v, t]) => `${t.toFixed(1)}s:${Math.round(v)}`)
      .join(' ');
  }
  summary() {
    const sorted = [...this.values].sort((a, b) => a - b);
    const at = (q: number) => round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN, 2);
    return { requests: sorted.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: round(sorted.at(-1) ?? NaN, 2) };
  }
}
const round = (x: number, digits: number) => Number(x.toFixed(digits));

/** CPU ms (user + system) of one process so far, from /proc (Linux); undefined when unreadable. */
function processCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // USER_HZ
  } catch {
    return undefined;
  }
}

/**
 * CPU used so far by each service, this process (autocannon, s3rver, NATS is separate) and every
 * `postgres` process of the machine (the server is shared: other databases' work counts too).
 */
function cpuNow(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, service] of labelloop.services) {
    const ms = processCpuMs(service.pid);
    if (ms !== undefined) out[name] = ms;
  }
  const self = process.cpuUsage();
  out['bench (autocannon)'] = (self.user + self.system) / 1000;
  // Per process, so a backend that ends meanwhile does not count negative (its last CPU is lost).
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'postgres') out[`postgres:${entry}`] = processCpuMs(Number(entry)) ?? 0;
    } catch {
      // gone
    }
  }
  return out;
}

function cpuPerRequest(before: Record<string, number>, after: Record<string, number>, requests: number): Record<string, number> {
  const used: Record<string, number> = {};
  for (const [key, ms] of Object.entries(after)) {
    const name = key.startsWith('postgres:') ? 'postgres' : key;
    used[name] = (used[name] ?? 0) + ms - (before[key] ?? 0);
  }
  return Object.fromEntries(Object.entries(used).map(([k, ms]) => [k, round(ms / Math.max(1, requests), 2)]));
}

interface PhaseResult {
  seconds: number;
  next: ReturnType<Samples['summary']>;
  answer: ReturnType<Samples['summary']>;
  requestsPerSecond: number;
  itemsLabelledPerSecond: number;
  errors: number;
  non2xx: number;
  timeouts: number;
  refusedAnswers: number;
  /** Refused answers by code (lease_lost, not_leased, ...). */
  refusedCodes: Record<string, number>;
  emptyLeases: number;
  leasedTwice: number;
  servedAgainToHolder: number;
  /** CPU ms per request (lease or answer) by process; postgres = every server process of the machine. */
  cpuMsPerRequest: Record<string, number>;
  /** /healthz at 10 requests a second during the phase: latency the machine adds to any request. */
  healthzProbe: { p50: number; p99: number; max: number };
}

const leasedBy = new Map<string, string>();

/** One phase: every labeller its own autocannon instance (one connection, its own key). */
async function labellerPhase(keys: Array<{ name: string; key: string }>, datasetId: string, seconds: number, rate: number): Promise<PhaseResult> {
  const next = new Samples();
  const answer = new Samples();
  let refusedAnswers = 0;
  const refusedCodes: Record<string, number> = {};
  let emptyLeases = 0;
  let leasedTwice = 0;
  let servedAgainToHolder = 0;
  let labelled = 0;
  const cpuBefore = cpuNow();
  const started = performance.now();
  // Latencies of the first WARMUP_MS are left out (cold JIT, key caches, the first queue count);
  // every lease still counts for the leased-twice check.
  const measureFrom = started + WARMUP_MS;
  const sample = (samples: Samples, sentAt: number) => {
    if (sentAt >= measureFrom) samples.add(performance.now() - sentAt);
  };
  const runs = keys.map(async ({ name, key }, index) => {
    // Labellers' seconds start spread over one second, as people's do (paced phase only).
    if (rate > 0) await new Promise((r) => setTimeout(r, (index * 1000) / keys.length));
    const instance = autocannon({
      url: api,
      connections: 1,
      duration: seconds - (rate > 0 ? index / keys.length : 0),
      ...(rate > 0 ? { connectionRate: rate } : {}),
      timeout: 10,
      headers: { authorization: `Bearer ${key}` },
      requests: [
        {
          method: 'GET',
          path: `/v1/datasets/${datasetId}/review/next?limit=${LIMIT}`,
          setupRequest: (request: any, context: any) => {
            context.sentAt = performance.now();
            return request;
          },
          onResponse: (status: number, body: string, context: any) => {
            sample(next, context.sentAt);
            if (status !== 200) return;
            const tasks = (JSON.parse(body) as { tasks: Array<{ item: { id: string } }> }).tasks;
            if (tasks.length === 0) emptyLeases++;
            for (const task of tasks) {
              const holder = leasedBy.get(task.item.id);
              if (holder === undefined) leasedBy.set(task.item.id, name);
              else if (holder === name) servedAgainToHolder++;
              else leasedTwice++;
            }
            context.answers = tasks.map((task, k) => ({ itemId: task.item.id, action: 'label', label: CLASSES[(index + k) % CLASSES.length] }));
          },
        },
        // Then each leased image answered in its own POST, as the web app sends them; a lease that
        // brought fewer tasks ends the round early (setupRequest → undefined starts over at the GET).
        ...Array.from({ length: LIMIT }, (_, k) => ({
          method: 'POST',
          path: `/v1/datasets/${datasetId}/review`,
          setupRequest: (request: any, context: any) => {
            const next = context.answers?.[k];
            if (!next) return undefined;
            context.sentAt = performance.now();
            return { ...request, headers: { ...request.headers, 'content-type': 'application/json' }, body: JSON.stringify({ answers: [next] }) };
          },
          onResponse: (status: number, body: string, context: any) => {
            sample(answer, context.sentAt);
            if (status !== 200) return;
            const parsed = JSON.parse(body) as { accepted: number; refused: number; results: Array<{ accepted: boolean; code: string | null }> };
            labelled += parsed.accepted;
            refusedAnswers += parsed.refused;
            for (const r of parsed.results) if (!r.accepted) refusedCodes[r.code ?? '?'] = (refusedCodes[r.code ?? '?'] ?? 0) + 1;
          },
        })),
      ],
    } as any);
    return (await instance) as autocannon.Result;
  });
  // A probe of /healthz alongside, 10 a second: what the machine's scheduling alone does to latency.
  const probe = autocannon({ url: `${api}/healthz`, connections: 1, connectionRate: 10, duration: seconds });
  const results = await Promise.all(runs);
  const probed = await probe;
  const elapsed = (performance.now() - started) / 1000;
  const total = results.reduce((n, r) => n + r.requests.total, 0);
  if (process.env.BENCH_SLOW) log(`slow leases: ${next.slow(Number(process.env.BENCH_SLOW), started)}\nslow answers: ${answer.slow(Number(process.env.BENCH_SLOW), started)}`);
  const cpuMsPerRequest = cpuPerRequest(cpuBefore, cpuNow(), total);
  return {
    seconds: round(elapsed, 1),
    next: next.summary(),
    answer: answer.summary(),
    requestsPerSecond: Math.round(total / elapsed),
    itemsLabelledPerSecond: Math.round(labelled / elapsed),
    errors: results.reduce((n, r) => n + r.errors, 0),
    non2xx: results.reduce((n, r) => n + r.non2xx, 0),
    timeouts: results.reduce((n, r) => n + r.timeouts, 0),
    refusedAnswers,
    refusedCodes,
    emptyLeases,
    leasedTwice,
    servedAgainToHolder,
    cpuMsPerRequest,
    healthzProbe: { p50: probed.latency.p50, p99: probed.latency.p99, max: probed.latency.max },
  };
}

async function healthzPhase(seconds: number) {
  const cpuBefore = cpuNow();
  const result = await autocannon({ url: `${api}/healthz`, connections: LABELLERS, duration: seconds });
  const cpu = cpuPerRequest(cpuBefore, cpuNow(), result.requests.total);
  return {
    requestsPerSecond: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.non2xx,
    cpuMsPerRequest: { gateway: cpu.gateway!, 'bench (autocannon)': cpu['bench (autocannon)']! },
  };
}

try {
  const importPath = MEASURE_IMPORT > 0 ? await measureImport(MEASURE_IMPORT) : undefined;
  if (importPath) log(`import path: ${importPath.images} images in ${importPath.seconds} s (${importPath.perSecond}/s; ${ITEMS} would take ~${importPath.extrapolatedSeconds} s)`);

  const dataset = await rest('POST', '/v1/datasets', { name: `bench-load-${uniqueSuffix()}`, classes: CLASSES, activeLearning: { autoLabel: false } });
  const insertSeconds = await insertItems(dataset.id);
  log(`${ITEMS} items inserted in ${insertSeconds.toFixed(1)} s`);
  const scoring = await scoreEverything(dataset.id);
  log(`scoring job recorded and finalized in ${scoring.seconds.toFixed(1)} s: ${scoring.tasks} review tasks`);

  const keys: Array<{ name: string; key: string }> = [];
  for (let i = 0; i < LABELLERS; i++) {
    const name = `bench-labeller-${i}`;
    keys.push({ name, key: (await rest('POST', '/v1/api-keys', { name, role: 'labeller' })).key });
  }

  log(`healthz, ${LABELLERS} connections, ${HEALTHZ} s`);
  const healthBefore = await healthzPhase(HEALTHZ);
  log(`paced: ${LABELLERS} labellers × ${RATE} requests/s, limit ${LIMIT}, ${DURATION} s`);
  const paced = await labellerPhase(keys, dataset.id, DURATION, RATE);
  log(`paced: review/next p50 ${paced.next.p50} ms p99 ${paced.next.p99} ms; review p50 ${paced.answer.p50} p99 ${paced.answer.p99}; ${paced.requestsPerSecond} req/s; healthz probe p99 ${paced.healthzProbe.p99} ms; CPU ms/request ${JSON.stringify(paced.cpuMsPerRequest)}`);
  // autocannon stops at its deadline with a request possibly still in flight: let those land, so
  // the next phase's labellers (the same keys) do not race their own last answers.
  const settle = () => new Promise((r) => setTimeout(r, 5000));
  let saturation: PhaseResult | undefined;
  if (SATURATION > 0) {
    await settle();
    log(`saturation: ${LABELLERS} labellers without pauses, ${SATURATION} s`);
    saturation = await labellerPhase(keys, dataset.id, SATURATION, 0);
    log(`saturation: ${saturation.requestsPerSecond} req/s; review/next p99 ${saturation.next.p99} ms; CPU ms/request ${JSON.stringify(saturation.cpuMsPerRequest)}`);
  }
  await settle();
  const healthAfter = await healthzPhase(HEALTHZ);
  const healthz = Math.round((healthBefore.requestsPerSecond + healthAfter.requestsPerSecond) / 2);

  // What the database says after the run: each labelled item has one human label and no task left.
  const { rows } = await db.query<{ labelled: string; history: string; tasks: string; leased: string }>(
    `SELECT (SELECT count(*) FROM dataset.items WHERE dataset_id = $1 AND label_source = 'human') AS labelled,
            (SELECT count(*) FROM dataset.item_labels h JOIN dataset.items i ON i.id = h.item_id WHERE i.dataset_id = $1) AS history,
            (SELECT count(*) FROM dataset.review_tasks WHERE dataset_id = $1) AS tasks,
            (SELECT count(*) FROM dataset.review_tasks WHERE dataset_id = $1 AND lease_expires_at > now()) AS leased`,
    [dataset.id],
  );
  const stored = rows[0]!;
  const phases = [paced, ...(saturation ? [saturation] : [])];
  const result = {
    date: new Date().toISOString(),
    items: ITEMS,
    labellers: LABELLERS,
    limit: LIMIT,
    database: 'PostgreSQL',
    seeding: { insertSeconds: round(insertSeconds, 1), scoringSeconds: round(scoring.seconds, 1), reviewTasks: scoring.tasks, importPath },
    healthz: { requestsPerSecond: healthz, before: healthBefore, after: healthAfter },
    paced: { ratePerLabeller: RATE, offeredRequestsPerSecond: RATE * LABELLERS, ...paced, ratioToHealthz: round(paced.requestsPerSecond / healthz, 3) },
    saturation: saturation && { ...saturation, ratioToHealthz: round(saturation.requestsPerSecond / healthz, 3) },
    stored: {
      humanLabels: Number(stored.labelled),
      labelHistoryRows: Number(stored.history),
      openTasks: Number(stored.tasks),
      leasedTasks: Number(stored.leased),
      distinctItemsLeased: leasedBy.size,
    },
    goal: { reviewNextP99Ms: 50, met: paced.next.p99 < 50 },
    zeroErrors: phases.every((p) => p.errors + p.non2xx + p.timeouts + p.refusedAnswers === 0),
    zeroLeasedTwice: phases.every((p) => p.leasedTwice === 0),
  };
  console.log(JSON.stringify(result, null, 2));
  mkdirSync(new URL('../results/', import.meta.url), { recursive: true });
  writeFileSync(new URL(`../results/load-${Date.now()}.json`, import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
  if (!result.zeroErrors || !result.zeroLeasedTwice) process.exitCode = 1;
} finally {
  await db.end();
  await labelloop.stop();
  dir.remove();
  if (!flags['keep-database']) await onServer(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
}
