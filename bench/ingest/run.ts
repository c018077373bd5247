import { mkdirSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { EMBEDDED_S3_CREDENTIALS } from '@labelloop/embedded';
import { startLabelloop, type Labelloop } from '@labelloop/scripts';
import { S3BlobStore } from '@labelloop/storage';
import { makeTempDir, mnistLabel, mnistPng } from '@labelloop/testing';

// bench/ingest: 5,000 MNIST PNGs uploaded through the REST gateway in batches of 100, then exported
// as a ZIP; each rate is reported as a ratio against writing the same files to local disk with fs in
// the same run. Usage: npm run bench:ingest [-- --images 5000 --batch 100 --parallel 4]
// Also measured in the same run: the S3 server's own ceiling through S3BlobStore (PUT and GET of
// the same files, S3_IN_FLIGHT at a time), as ratios, and the CPU each process spent per image.

function arg(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}
const IMAGES = arg('images', 5000);
const BATCH = arg('batch', 100);
const PARALLEL = arg('parallel', 4);
// What the dataset service keeps in flight: a chunk of UploadItems puts, the ZIP writer's prefetch.
const S3_PUT_IN_FLIGHT = arg('s3-put-in-flight', 64);
const S3_GET_IN_FLIGHT = arg('s3-get-in-flight', 32);

const dir = makeTempDir('bench-ingest');
const files: Array<{ name: string; label: string; bytes: Buffer }> = [];
for (let i = 0; i < IMAGES; i++) files.push({ name: `train-${i}.png`, label: String(mnistLabel('train', i)), bytes: await mnistPng('train', i) });
const totalBytes = files.reduce((sum, f) => sum + f.bytes.length, 0);

// Baseline: the same files written to local disk with fs, one writeFile each, PARALLEL at a time.
async function diskRate(): Promise<number> {
  const target = join(dir.path, `disk-${Date.now()}`);
  mkdirSync(target);
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: PARALLEL * 4 }, async () => {
      while (next < files.length) {
        const file = files[next++]!;
        await writeFile(join(target, file.name), file.bytes);
      }
    }),
  );
  return files.length / ((performance.now() - started) / 1000);
}

/** Runs task over every file with `inFlight` at a time; files per second. */
async function rateOf(inFlight: number, task: (file: (typeof files)[number]) => Promise<unknown>): Promise<number> {
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < files.length) await task(files[next++]!);
    }),
  );
  return files.length / ((performance.now() - started) / 1000);
}

/** The S3 server in use, through the same S3BlobStore the services use (this process is the client). */
async function s3Rates(labelloop: Labelloop): Promise<{ put: number; get: number }> {
  const store = new S3BlobStore({
    endpoint: labelloop.s3Endpoint,
    region: 'us-east-1',
    bucket: 'labelloop',
    ...EMBEDDED_S3_CREDENTIALS,
    forcePathStyle: true,
  });
  const prefix = `bench-ceiling/${Date.now()}`;
  try {
    const put = await rateOf(S3_PUT_IN_FLIGHT, (f) =>
      store.put(`${prefix}/${f.name}`, f.bytes, { contentType: 'image/png' }),
    );
    const get = await rateOf(S3_GET_IN_FLIGHT, (f) => store.getBuffer(`${prefix}/${f.name}`));
    await rateOf(S3_PUT_IN_FLIGHT, (f) => store.delete(`${prefix}/${f.name}`));
    return { put, get };
  } finally {
    await store.close();
  }
}

/** CPU milliseconds (user + system) used so far by each service process and by this one (s3rver, client). */
function cpuMs(labelloop: Labelloop): Record<string, number> {
  const ticks = 100; // USER_HZ on Linux
  const out: Record<string, number> = {};
  for (const [name, service] of labelloop.services) {
    try {
      const fields = readFileSync(`/proc/${service.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      out[name] = ((Number(fields[11]) + Number(fields[12])) * 1000) / ticks;
    } catch {
      // not Linux, or the process is gone: leave it out
    }
  }
  const self = process.cpuUsage();
  out['bench (s3rver + client)'] = (self.user + self.system) / 1000;
  return out;
}

function perImage(before: Record<string, number>, after: Record<string, number>, images: number) {
  return Object.fromEntries(Object.keys(after).map((k) => [k, Number(((after[k]! - (before[k] ?? 0)) / images).toFixed(2))]));
}

const env = { ...process.env };
for (const name of ['NATS_URL', 'S3_ENDPOINT', 'LABELLOOP_ADMIN_KEY', ...(process.env.BENCH_KEEP_DATABASE_URL ? [] : ['DATABASE_URL'])]) delete env[name];
const labelloop = await startLabelloop({ dataDir: join(dir.path, 'system'), env, gatewayPort: 0, freeInternalPorts: true });
try {
  const auth = { authorization: `Bearer ${labelloop.adminKey}` };
  const api = labelloop.gatewayUrl;
  const created = await fetch(`${api}/v1/datasets`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ name: `bench-${Date.now()}-${process.pid}`, classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] }),
  });
  const datasetId = ((await created.json()) as { id: string }).id;

  const diskBefore = await diskRate();

  // Batches of BATCH files of one class (the label field applies to the whole request).
  const byClass = new Map<string, typeof files>();
  for (const file of files) byClass.set(file.label, [...(byClass.get(file.label) ?? []), file]);
  const batches: Array<typeof files> = [];
  for (const group of byClass.values()) for (let i = 0; i < group.length; i += BATCH) batches.push(group.slice(i, i + BATCH));
  let nextBatch = 0;
  let createdCount = 0;
  const cpuBeforeIngest = cpuMs(labelloop);
  const ingestStarted = performance.now();
  await Promise.all(
    Array.from({ length: PARALLEL }, async () => {
      while (nextBatch < batches.length) {
        const batch = batches[nextBatch++]!;
        const form = new FormData();
        form.append('label', batch[0]!.label);
        for (const file of batch) form.append('file', new Blob([file.bytes], { type: 'image/png' }), file.name);
        const response = await fetch(`${api}/v1/datasets/${datasetId}/items`, { method: 'POST', headers: auth, body: form });
        const body = (await response.json()) as { created: number };
        if (response.status !== 201) throw new Error(`upload answered ${response.status}: ${JSON.stringify(body)}`);
        createdCount += body.created;
      }
    }),
  );
  const ingestRate = createdCount / ((performance.now() - ingestStarted) / 1000);
  const cpuAfterIngest = cpuMs(labelloop);

  const exportStarted = performance.now();
  const exported = await fetch(`${api}/v1/datasets/${datasetId}/export?format=zip`, { headers: auth });
  let exportedBytes = 0;
  for await (const chunk of exported.body as unknown as AsyncIterable<Uint8Array>) exportedBytes += chunk.length;
  const exportRate = createdCount / ((performance.now() - exportStarted) / 1000);
  const cpuAfterExport = cpuMs(labelloop);

  const s3 = await s3Rates(labelloop);

  const diskAfter = await diskRate();
  const disk = (diskBefore + diskAfter) / 2;
  const result = {
    date: new Date().toISOString(),
    images: IMAGES,
    batch: BATCH,
    parallelRequests: PARALLEL,
    pngBytes: totalBytes,
    created: createdCount,
    diskImagesPerSecond: Math.round(disk),
    diskRuns: [Math.round(diskBefore), Math.round(diskAfter)],
    ingestImagesPerSecond: Math.round(ingestRate),
    ingestRatioToDisk: Number((ingestRate / disk).toFixed(3)),
    exportImagesPerSecond: Math.round(exportRate),
    exportRatioToDisk: Number((exportRate / disk).toFixed(3)),
    exportZipBytes: exportedBytes,
    s3PutPerSecond: Math.round(s3.put),
    s3GetPerSecond: Math.round(s3.get),
    s3InFlight: { put: S3_PUT_IN_FLIGHT, get: S3_GET_IN_FLIGHT },
    ingestRatioToS3Put: Number((ingestRate / s3.put).toFixed(3)),
    exportRatioToS3Get: Number((exportRate / s3.get).toFixed(3)),
    cpuMsPerImage: {
      ingest: perImage(cpuBeforeIngest, cpuAfterIngest, createdCount),
      export: perImage(cpuAfterIngest, cpuAfterExport, createdCount),
    },
  };
  console.log(JSON.stringify(result, null, 2));
  mkdirSync(new URL('../results/', import.meta.url), { recursive: true });
  writeFileSync(new URL(`../results/ingest-${Date.now()}.json`, import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
} finally {
  await labelloop.stop();
  dir.remove();
}
