// bench/train-throughput: the issue's 28×28 CNN (conv 3×3·32 → pool → conv 3×3·64 → pool →
// dense 128 → dropout → dense 10; batch 64, Adam) trained, then run for inference at batch 256,
// by labelloop and by PyTorch (Debian python3-torch, 2 threads) in the same run on the same
// MNIST images, in interleaved repetitions. Prints images/s for both and the ratios.
// Usage: npm run bench:train [-- --reps 3 --steps 60 --workers N --threads 2]
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@labelloop/common';
import {
  createLocalEngine,
  createTrainingEngine,
  initBackend,
  predict,
  type LocalEngine,
  type ModelSpec,
  type ParallelEngine,
  type TrainBatch,
  type TrainingEngine,
} from '@labelloop/ml';
import { makeTempDir, mnistCount, mnistLabel, mnistPixels } from '@labelloop/testing';

function arg(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}
const REPS = arg('reps', 3);
const STEPS = arg('steps', 60);
const WORKERS = arg('workers', availableParallelism());
const THREADS = arg('threads', 2);
const BATCH = 64;
const INFER_BATCH = 256;
const TRAIN_IMAGES = 6400;
const PYTHON = process.env['BENCH_PYTHON'] ?? '/usr/bin/python3';
const here = dirname(fileURLToPath(import.meta.url));

// Same bytes for both sides: MNIST written once as raw uint8 files.
const dir = makeTempDir('bench-train');
const x = new Uint8Array(TRAIN_IMAGES * 784);
const labels = new Int32Array(TRAIN_IMAGES);
for (let i = 0; i < TRAIN_IMAGES; i++) {
  x.set(mnistPixels('train', i), i * 784);
  labels[i] = mnistLabel('train', i);
}
const testCount = mnistCount('test');
const test = new Uint8Array(testCount * 784);
for (let i = 0; i < testCount; i++) test.set(mnistPixels('test', i), i * 784);
writeFileSync(join(dir.path, 'x.u8'), x);
writeFileSync(join(dir.path, 'y.u8'), Uint8Array.from(labels));
writeFileSync(join(dir.path, 'test.u8'), test);

/** Batch k of the sequence both sides train on. */
function batchAt(k: number): TrainBatch {
  const lo = (k * BATCH) % (TRAIN_IMAGES - BATCH + 1);
  return { x: x.subarray(lo * 784, (lo + BATCH) * 784), y: labels.subarray(lo, lo + BATCH), n: BATCH };
}

// ---- PyTorch: one long-lived python process, so its start-up is not timed.
function ensureTorch(): void {
  const importTorch = () => spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
  if (importTorch()) return;
  if (process.getuid?.() !== 0) throw new Error(`${PYTHON} cannot import torch: run \`apt-get install -y python3-torch\` as root`);
  console.log('installing python3-torch with apt-get (large, once)');
  let status = spawnSync('apt-get', ['install', '-y', 'python3-torch'], { stdio: 'inherit' }).status;
  if (status !== 0) {
    spawnSync('apt-get', ['update'], { stdio: 'inherit' });
    status = spawnSync('apt-get', ['install', '-y', 'python3-torch'], { stdio: 'inherit' }).status;
  }
  if (status !== 0 || !importTorch()) throw new Error('apt-get could not install python3-torch');
}
ensureTorch();
const torch = spawn(PYTHON, [join(here, 'torch_cnn.py'), dir.path, String(THREADS)], { stdio: ['pipe', 'pipe', 'inherit'] });
const torchLines = createInterface({ input: torch.stdout })[Symbol.asyncIterator]();
async function torchCall(command: object): Promise<Record<string, number | string | boolean>> {
  if (Object.keys(command).length) torch.stdin.write(`${JSON.stringify(command)}\n`);
  const line = await torchLines.next();
  if (line.done) throw new Error('the PyTorch process exited');
  return JSON.parse(line.value);
}
const torchInfo = await torchCall({});

// ---- labelloop
const backend = await initBackend({ logger: createLogger({ service: 'bench', level: 'warn' }) });
const spec: ModelSpec = { architecture: 'cnn-28', inputShape: [28, 28, 1], numClasses: 10 };
const optimizer = { name: 'adam' as const, learningRate: 1e-3 };
// labelloop's choice for this machine (createTrainingEngine), and the one-thread engine for reference.
const best = await createTrainingEngine({ spec, optimizer, seed: 1, workers: WORKERS });
const local = createLocalEngine({ spec, optimizer, seed: 1 });
const predictWith = (engine: TrainingEngine) =>
  'predictLogits' in engine
    ? () => (engine as ParallelEngine).predictLogits(test, { batchSize: INFER_BATCH })
    : () => predict((engine as LocalEngine).model, test, { batchSize: INFER_BATCH, topK: 1 });

async function trainRate(engine: TrainingEngine, start: number): Promise<{ rate: number; loss: number }> {
  let loss = 0;
  const started = performance.now();
  for (let s = 0; s < STEPS; s++) loss = (await engine.step(batchAt(start + s))).loss;
  return { rate: (STEPS * BATCH) / ((performance.now() - started) / 1000), loss };
}
async function inferRate(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return testCount / ((performance.now() - started) / 1000);
}
const inferBest = predictWith(best);
const inferLocal = predictWith(local);

type Series = Record<string, number[]>;
const train: Series = {};
const infer: Series = {};
const losses: Record<string, number> = {};
const record = (series: Series, name: string, value: number) => (series[name] ??= []).push(value);
const bestName = 'workers' in best ? `parallel, ${(best as ParallelEngine).workers} workers` : 'local, 1 thread';
const names = { best: `labelloop default (${bestName})`, local: 'labelloop local (1 thread)', torch: `PyTorch ${torchInfo['torch']} (${torchInfo['threads']} threads)` };

// Warm-up (compilation, XNNPACK operator caches, allocator) outside the timings.
for (let s = 0; s < 5; s++) await Promise.all([best.step(batchAt(s)), local.step(batchAt(s))]);
await torchCall({ cmd: 'train', steps: 5, batch: BATCH, start: 0 });
await inferBest();
await inferLocal();
await torchCall({ cmd: 'infer', batch: INFER_BATCH });

for (let rep = 0; rep < REPS; rep++) {
  const start = 5 + rep * STEPS;
  const p = await trainRate(best, start);
  const l = await trainRate(local, start);
  const t = await torchCall({ cmd: 'train', steps: STEPS, batch: BATCH, start });
  record(train, names.best, p.rate);
  record(train, names.local, l.rate);
  record(train, names.torch, t['images_per_s'] as number);
  [losses[names.best], losses[names.local], losses[names.torch]] = [p.loss, l.loss, t['loss'] as number];
  record(infer, names.best, await inferRate(inferBest));
  record(infer, names.local, await inferRate(inferLocal));
  record(infer, names.torch, (await torchCall({ cmd: 'infer', batch: INFER_BATCH }))['images_per_s'] as number);
  console.log(`repetition ${rep + 1}/${REPS} done`);
}
torch.stdin.write(`${JSON.stringify({ cmd: 'quit' })}\n`);
await Promise.all([best.dispose(), local.dispose()]);

// ---- report
const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;
const fmt = (v: number) => Math.round(v).toLocaleString('en-US');
/** Median of the per-repetition ratios (each repetition ran both sides back to back). */
const ratio = (series: Series, name: string) => median(series[name]!.map((v, i) => v / series[names.torch]![i]!));
console.log(
  `\ntrain-throughput: 28×28 CNN, Adam, training batch ${BATCH}, inference batch ${INFER_BATCH}; ` +
    `${REPS} interleaved repetitions of ${STEPS} steps and ${fmt(testCount)} test images; tfjs backend ${backend.name}`,
);
for (const [title, series] of [['training', train], ['inference', infer]] as const) {
  console.log(`\n${title} images/s (min / median / max)   ratio to PyTorch (median of per-repetition ratios)`);
  for (const name of Object.keys(series)) {
    const v = series[name]!;
    const r = name === names.torch ? '' : `${ratio(series, name).toFixed(2)}×`;
    console.log(`  ${name.padEnd(36)} ${fmt(Math.min(...v))} / ${fmt(median(v))} / ${fmt(Math.max(...v))}   ${r}`);
  }
}
const trainRatio = ratio(train, names.best);
const inferRatio = ratio(infer, names.best);
const verdict = (r: number, floor: number, target: number) => (r >= target ? 'target met' : r >= floor ? 'floor met' : 'BELOW FLOOR');
console.log(`\n${names.best} vs PyTorch: training ${trainRatio.toFixed(2)}× (floor 0.3×, target 1.0×: ${verdict(trainRatio, 0.3, 1)}), ` +
  `inference ${inferRatio.toFixed(2)}× (floor 1.0×, target 1.5×: ${verdict(inferRatio, 1, 1.5)})`);
console.log(`last training loss: ${Object.entries(losses).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', ')}`);

const results = join(here, '..', 'results');
mkdirSync(results, { recursive: true });
const file = join(results, `train-throughput-${Date.now()}.json`);
writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), reps: REPS, steps: STEPS, workers: WORKERS, threads: THREADS, backend, train, infer, losses, trainRatio, inferRatio }, null, 2));
console.log(`raw figures: ${file}`);
dir.remove();
