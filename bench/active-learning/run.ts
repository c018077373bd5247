// bench/active-learning: labels needed to reach 90 % and 95 % MNIST test accuracy for each
// acquisition strategy (Gal et al. 2017's setting: 20 initial labels, 10 acquired a round from a
// random 2,000-image subsample of the pool, a fresh model each round, the 10,000 test digits).
// Each (strategy, seed) is a run; runs go to `--parallel` child processes (one wasm thread each), the
// random baseline split into its rounds (see below).
// Usage: npm run bench:al [-- --strategies random,margin,entropy,bald --seed 1 --repeats 1
//   --parallel N --max-labels 1000 --random-max-labels N --rounds R --epochs E --pool-subsample 2000
//   --test-limit N --diversity F --out FILE]; the other training flags are in parseArgs below.
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isAcquisitionStrategy, type AcquisitionStrategy } from '@labelloop/active-learning';
import { lastRound, milestones, type LoopConfig, type LoopResult, type RoundResult } from './loop.js';
import type { WorkerReply, WorkerRequest } from './worker.js';

const here = dirname(fileURLToPath(import.meta.url));
const { values: flags } = parseArgs({
  options: {
    strategies: { type: 'string', default: 'random,margin,entropy,bald' },
    seed: { type: 'string', default: '1' },
    repeats: { type: 'string', default: '1' },
    parallel: { type: 'string' },
    'max-labels': { type: 'string', default: '1000' },
    'random-max-labels': { type: 'string' },
    rounds: { type: 'string' },
    epochs: { type: 'string', default: '20' },
    'batch-size': { type: 'string', default: '32' },
    'learning-rate': { type: 'string', default: '0.001' },
    'epoch-images': { type: 'string', default: '1024' },
    'no-augment': { type: 'boolean', default: false },
    rotation: { type: 'string', default: '15' },
    acquire: { type: 'string', default: '10' },
    'initial-per-class': { type: 'string', default: '2' },
    'pool-subsample': { type: 'string', default: '2000' },
    'mc-samples': { type: 'string', default: '20' },
    'test-limit': { type: 'string', default: '10000' },
    diversity: { type: 'string', default: '0' },
    out: { type: 'string' },
  },
  strict: true,
});

function int(name: keyof typeof flags, min: number): number {
  const value = Number(flags[name]);
  if (!Number.isInteger(value) || value < min) throw new Error(`--${name} must be an integer ≥ ${min}, got ${flags[name]}`);
  return value;
}

const strategies = String(flags.strategies).split(',').map((s) => s.trim()).filter(Boolean);
for (const s of strategies) if (!isAcquisitionStrategy(s)) throw new Error(`unknown strategy ${JSON.stringify(s)}`);
const firstSeed = int('seed', 0);
const seeds = Array.from({ length: int('repeats', 1) }, (_, i) => firstSeed + i);
const base: Omit<LoopConfig, 'strategy' | 'seed'> = {
  initialPerClass: int('initial-per-class', 1),
  acquire: int('acquire', 1),
  poolSubsample: int('pool-subsample', 1),
  mcSamples: int('mc-samples', 1),
  maxLabels: int('max-labels', 1),
  maxRounds: flags.rounds === undefined ? null : int('rounds', 1),
  testLimit: int('test-limit', 1),
  diversityFactor: Number(flags.diversity),
  training: {
    epochs: int('epochs', 1),
    batchSize: int('batch-size', 1),
    learningRate: Number(flags['learning-rate']),
    epochImages: int('epoch-images', 1),
    augment: !flags['no-augment'],
    rotationDeg: Number(flags.rotation),
  },
};
if (base.maxLabels < base.initialPerClass * 10) throw new Error(`--max-labels must be at least the ${base.initialPerClass * 10} initial labels`);
// The random baseline runs round by round in parallel (below), so it can afford a higher cap.
const randomMaxLabels = flags['random-max-labels'] === undefined ? base.maxLabels : int('random-max-labels', base.initialPerClass * 10);
const jobs: LoopConfig[] = seeds.flatMap((seed) =>
  strategies.map((strategy) => ({ ...base, strategy: strategy as AcquisitionStrategy, seed, maxLabels: strategy === 'random' ? randomMaxLabels : base.maxLabels })),
);

/**
 * Units of work for the processes: a whole chain of rounds for each model-driven strategy (a round
 * needs the previous round's model), and one unit per round for plain random acquisition, whose
 * labelled sets are known in advance (see runRandomRound). Chains start first, being the longest;
 * random rounds follow in order, and those past the first round that reaches 95 % are dropped.
 */
type Unit = { job: number; round?: number };
const units: Unit[] = [];
const byRounds = (c: LoopConfig) => c.strategy === 'random' && c.diversityFactor === 0;
jobs.forEach((c, job) => {
  if (!byRounds(c)) units.push({ job });
});
for (let round = 0; round <= Math.max(...jobs.map(lastRound)); round++) {
  jobs.forEach((c, job) => {
    if (byRounds(c) && round <= lastRound(c)) units.push({ job, round });
  });
}
const parallel = Math.min(units.length, flags.parallel === undefined ? Math.max(1, availableParallelism() - 1) : int('parallel', 1));
console.log(
  `active learning on MNIST: ${strategies.join(', ')}; seeds ${seeds.join(', ')}; ${base.initialPerClass * 10} initial labels, ` +
    `${base.acquire} a round from ${base.poolSubsample} pool images; cap ${base.maxLabels} labels` +
    `${randomMaxLabels !== base.maxLabels ? ` (random ${randomMaxLabels})` : ''}; ` +
    `${base.testLimit} test images; ${jobs.length} runs as ${units.length} units on ${parallel} processes`,
);
console.log(`training: ${JSON.stringify(base.training)}`);
const randomCutoff = new Map<number, number>();

const started = performance.now();
const results: LoopResult[] = [];
const label = (c: LoopConfig) => (seeds.length > 1 ? `${c.strategy}#${c.seed}` : c.strategy);
const printRound = (c: LoopConfig, r: RoundResult) =>
  console.log(
    `[${label(c)}] round ${r.round}: ${r.labels} labels, test accuracy ${(100 * r.accuracy).toFixed(2)} % ` +
      `(train ${r.trainSeconds.toFixed(1)} s, test ${r.evalSeconds.toFixed(1)} s, acquire ${r.acquireSeconds.toFixed(1)} s)`,
  );
let failed = false;

// Every finished round, by run; written out after each one, so a run stopped early still leaves its curve.
const progress = new Map<number, RoundResult[]>();
const resultsDir = join(here, '..', 'results');
mkdirSync(resultsDir, { recursive: true });
const files = [join(resultsDir, `active-learning-${Date.now()}.json`), ...(flags.out ? [resolve(process.env['INIT_CWD'] ?? process.cwd(), flags.out)] : [])];
const header = { argv: process.argv.slice(2), config: base, strategies, seeds, parallel };
function write(record: object): void {
  for (const file of files) writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), ...header, ...record }, null, 2));
}
function recordRound(job: number, round: RoundResult): void {
  printRound(jobs[job]!, round);
  const list = progress.get(job) ?? [];
  list.push(round);
  list.sort((a, b) => a.round - b.round);
  progress.set(job, list);
  write({ finished: false, progress: jobs.map((c, j) => ({ strategy: c.strategy, seed: c.seed, rounds: progress.get(j) ?? [] })) });
}

function nextUnit(): Unit | undefined {
  while (units.length > 0) {
    const unit = units.shift()!;
    if (unit.round === undefined || unit.round <= (randomCutoff.get(unit.job) ?? Infinity)) return unit;
  }
  return undefined;
}

await Promise.all(
  Array.from({ length: parallel }, async () => {
    const child = fork(join(here, 'worker.ts'), [], { stdio: 'inherit' });
    try {
      for (let unit = nextUnit(); unit && !failed; unit = nextUnit()) {
        const { job, round } = unit;
        const config = jobs[job]!;
        const reply = await new Promise<WorkerReply & { type: 'done' }>((resolvePromise, reject) => {
          const onExit = (code: number | null) => reject(new Error(`worker exited (code ${code}) during ${label(config)}`));
          const onMessage = (message: WorkerReply) => {
            if (message.job !== job) return;
            if (message.type === 'round') return recordRound(job, message.round);
            child.off('message', onMessage);
            child.off('exit', onExit);
            if (message.type === 'done') resolvePromise(message);
            else reject(new Error(`${label(config)} failed: ${message.error}`));
          };
          child.on('message', onMessage);
          child.on('exit', onExit);
          const request: WorkerRequest = round === undefined ? { type: 'loop', job, config } : { type: 'random-round', job, config, round };
          child.send(request);
        });
        if (reply.result) {
          results[job] = reply.result;
          console.log(`[${label(config)}] done: ${reply.result.stopped} after ${reply.result.seconds.toFixed(0)} s`);
        } else {
          const r = reply.round!;
          recordRound(job, r);
          if (r.accuracy >= 0.95) randomCutoff.set(job, Math.min(randomCutoff.get(job) ?? Infinity, r.round));
        }
      }
    } catch (err) {
      failed = true;
      throw err;
    } finally {
      if (child.connected) child.send({ type: 'exit' } satisfies WorkerRequest);
    }
  }),
);

// Random chains from their rounds: every round up to the cutoff (the first at 95 %) has run.
jobs.forEach((config, job) => {
  if (!byRounds(config)) return;
  const cutoff = randomCutoff.get(job);
  const rounds = (progress.get(job) ?? []).filter((r) => cutoff === undefined || r.round <= cutoff);
  const last = lastRound(config);
  results[job] = {
    strategy: config.strategy,
    seed: config.seed,
    rounds,
    ...milestones(rounds),
    stopped: cutoff !== undefined ? 'reached 95%' : config.maxRounds !== null && last === config.maxRounds - 1 ? 'round limit' : 'label cap',
    seconds: rounds.reduce((sum, r) => sum + r.trainSeconds + r.evalSeconds, 0),
  };
});

// Summary: labels to 90 % / 95 % per strategy (mean over seeds that reached it) and the ratio to random.
const summary = strategies.map((strategy) => {
  const runs = results.filter((r) => r.strategy === strategy);
  const mean = (key: 'labelsTo90' | 'labelsTo95') => {
    const reached = runs.map((r) => r[key]).filter((v): v is number => v !== null);
    return reached.length === runs.length ? reached.reduce((a, b) => a + b, 0) / reached.length : null;
  };
  return {
    strategy,
    labelsTo90: mean('labelsTo90'),
    labelsTo95: mean('labelsTo95'),
    /** The most labels any of its runs got to (what ">N" means when a goal was not reached). */
    labelsTried: Math.max(0, ...runs.flatMap((r) => r.rounds.map((round) => round.labels))),
    runs: runs.map((r) => ({ seed: r.seed, labelsTo90: r.labelsTo90, labelsTo95: r.labelsTo95, stopped: r.stopped })),
  };
});
const random = summary.find((s) => s.strategy === 'random');
const show = (v: number | null, tried: number) => (v === null ? `>${tried}` : String(Math.round(v)));
const ratio = (v: number | null, r: number | null | undefined) => (v !== null && r != null ? `${(v / r).toFixed(2)}×` : '—');
console.log(`\nlabels needed (${seeds.length > 1 ? `mean of ${seeds.length} seeds` : `seed ${firstSeed}`}; ratio to random):`);
console.log(`${'strategy'.padEnd(18)} ${'90 %'.padStart(6)} ${'× random'.padStart(9)} ${'95 %'.padStart(6)} ${'× random'.padStart(9)}`);
for (const s of summary) {
  console.log(
    `${s.strategy.padEnd(18)} ${show(s.labelsTo90, s.labelsTried).padStart(6)} ${ratio(s.labelsTo90, random?.labelsTo90).padStart(9)} ` +
      `${show(s.labelsTo95, s.labelsTried).padStart(6)} ${ratio(s.labelsTo95, random?.labelsTo95).padStart(9)}`,
  );
}
const best95 = Math.min(...summary.map((s) => s.labelsTo95 ?? Infinity));
console.log(`goal (95 % with ≤ 190 labels for the best strategy): ${best95 <= 190 ? `met (${best95})` : `not met (best ${Number.isFinite(best95) ? best95 : 'none reached 95 %'})`}`);
console.log(`wall time ${((performance.now() - started) / 1000).toFixed(0)} s`);

write({ finished: true, wallSeconds: (performance.now() - started) / 1000, summary, results });
console.log(`results: ${files.join(', ')}`);
