// Active learning on MNIST for one strategy and seed: start from 2 labels a class, train a fresh
// CNN, measure test accuracy, acquire `acquire` labels from a random subsample of the pool (the true
// MNIST labels play the labeller), repeat until 95 % or the label cap.
import {
  acquisitionScore,
  selectBatch,
  topIndices,
  type AcquisitionStrategy,
} from '@labelloop/active-learning';
import { createLogger, createRng, type Rng } from '@labelloop/common';
import {
  augment,
  classWeights,
  createLocalEngine,
  ImageSet,
  initBackend,
  predict,
  trainModel,
  type ModelSpec,
} from '@labelloop/ml';
import { mnistCount, mnistLabel, mnistPixels } from '@labelloop/testing';

export interface TrainingSettings {
  /** Passes over the (repeated) labelled set per round. */
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** The labelled set is repeated so that an epoch holds about this many images (small sets need more steps). */
  epochImages: number;
  /** Random shifts (±2 px) and rotations (±rotation°) of the training digits. */
  augment: boolean;
  rotationDeg: number;
}

export interface LoopConfig {
  strategy: AcquisitionStrategy;
  seed: number;
  initialPerClass: number;
  /** Labels acquired per round. */
  acquire: number;
  /** Pool images scored per round (a fresh random subsample each round). */
  poolSubsample: number;
  /** MC-dropout passes for BALD. */
  mcSamples: number;
  maxLabels: number;
  /** Stop after this many rounds (a round = train, evaluate, acquire); null for no limit (configs travel as JSON). */
  maxRounds: number | null;
  /** Evaluate on the first testLimit of the 10,000 MNIST test digits. */
  testLimit: number;
  /** Top diversityFactor·acquire by score, spread by k-center greedy on the embeddings; 0 = plain top-k. */
  diversityFactor: number;
  training: TrainingSettings;
}

export interface RoundResult {
  round: number;
  labels: number;
  accuracy: number;
  trainSeconds: number;
  evalSeconds: number;
  acquireSeconds: number;
  /** Labels per class in this round's training set. */
  classCounts: number[];
}

export interface LoopResult {
  strategy: AcquisitionStrategy;
  seed: number;
  rounds: RoundResult[];
  /** Labels at the first round whose test accuracy reached 90 % / 95 %; null if never. */
  labelsTo90: number | null;
  labelsTo95: number | null;
  stopped: 'reached 95%' | 'label cap' | 'round limit' | 'pool exhausted';
  seconds: number;
}

const CLASSES = 10;
const IMAGE = 28 * 28;
const spec: ModelSpec = { architecture: 'cnn-28', inputShape: [28, 28, 1], numClasses: CLASSES };

function loadMnist(set: 'train' | 'test', limit = Infinity): ImageSet {
  const n = Math.min(mnistCount(set), limit);
  const x = new Uint8Array(n * IMAGE);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    x.set(mnistPixels(set, i), i * IMAGE);
    y[i] = mnistLabel(set, i);
  }
  return new ImageSet(x, y, [28, 28, 1]);
}

/** `count` distinct picks from `from`, uniformly (partial Fisher–Yates on a copy). */
function sample(from: readonly number[], count: number, rng: Rng): number[] {
  const copy = from.slice();
  const k = Math.min(count, copy.length);
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(copy.length - i);
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy.slice(0, k);
}

interface Data {
  train: ImageSet;
  test: ImageSet;
  /** Train indices of each class. */
  byClass: number[][];
}

let cached: { testLimit: number; data: Data } | undefined;

/** MNIST, loaded once per process (a worker runs many jobs). */
async function loadData(testLimit: number): Promise<Data> {
  if (cached?.testLimit === testLimit) return cached.data;
  await initBackend({ logger: createLogger({ service: 'bench-active-learning', level: 'warn' }) });
  const train = loadMnist('train');
  const byClass: number[][] = Array.from({ length: CLASSES }, () => []);
  for (let i = 0; i < train.n; i++) byClass[train.y[i]!]!.push(i);
  const data = { train, test: loadMnist('test', testLimit), byClass };
  cached = { testLimit, data };
  return data;
}

/** The same initial labels for every strategy of a seed: `initialPerClass` random digits of each class. */
function initialLabels(data: Data, config: LoopConfig): number[] {
  const initRng = createRng(config.seed).fork('initial');
  return data.byClass.flatMap((indices) => sample(indices, config.initialPerClass, initRng));
}

/** The last round whose labelled set stays within the cap (and the round limit). */
export function lastRound(config: Pick<LoopConfig, 'maxLabels' | 'initialPerClass' | 'acquire' | 'maxRounds'>): number {
  const byCap = Math.floor((config.maxLabels - config.initialPerClass * CLASSES) / config.acquire);
  return config.maxRounds === null ? byCap : Math.min(byCap, config.maxRounds - 1);
}

/** Trains a fresh model on the labelled items (init and data order depend on seed and round only) and tests it. */
async function trainAndTest(data: Data, labelled: readonly number[], round: number, config: LoopConfig) {
  const rng = createRng(config.seed);
  const { training } = config;
  const t0 = performance.now();
  const engine = createLocalEngine({
    spec,
    optimizer: { name: 'adam', learningRate: training.learningRate },
    seed: rng.fork(`model:${round}`).uint32(),
  });
  try {
    // Small sets are repeated so that an epoch holds about epochImages images: every round takes
    // enough optimizer steps (~epochs·epochImages/batch until the set itself is larger).
    const repeats = Math.max(1, Math.round(training.epochImages / labelled.length));
    const trainSet = data.train.subset(Array.from({ length: repeats }, () => labelled).flat());
    const classCounts = data.train.subset(labelled).classCounts(CLASSES);
    await trainModel({
      engine,
      train: trainSet,
      epochs: training.epochs,
      batchSize: training.batchSize,
      seed: rng.fork(`train:${round}`).uint32(),
      classWeights: classWeights(classCounts),
      augment: training.augment
        ? (batch, augmentRng) => augment(batch, data.train.spec, 'digits', augmentRng, { maxShift: 2, maxRotationDeg: training.rotationDeg })
        : undefined,
    });
    const t1 = performance.now();
    const predictions = await predict(engine.model, data.test.x, { batchSize: 500, topK: 1 });
    let correct = 0;
    predictions.forEach((p, i) => (correct += p.topK[0]!.classIndex === data.test.y[i] ? 1 : 0));
    const t2 = performance.now();
    return {
      engine,
      round: {
        round,
        labels: labelled.length,
        accuracy: correct / data.test.n,
        trainSeconds: (t1 - t0) / 1000,
        evalSeconds: (t2 - t1) / 1000,
        acquireSeconds: 0,
        classCounts,
      } satisfies RoundResult,
    };
  } catch (err) {
    await engine.dispose();
    throw err;
  }
}

function unlabelledPool(data: Data, labelled: readonly number[]): number[] {
  const isLabelled = new Uint8Array(data.train.n);
  for (const i of labelled) isLabelled[i] = 1;
  const pool: number[] = [];
  for (let i = 0; i < data.train.n; i++) if (!isLabelled[i]) pool.push(i);
  return pool;
}

/** The strategy and seed from the first round to 95 %, the label cap or the round limit, one round after another. */
export async function runLoop(config: LoopConfig, onRound: (round: RoundResult) => void): Promise<LoopResult> {
  const started = performance.now();
  const data = await loadData(config.testLimit);
  const labelled = initialLabels(data, config);
  const rounds: RoundResult[] = [];
  let stopped: LoopResult['stopped'] = 'label cap';
  for (let round = 0; round <= lastRound(config); round++) {
    const { engine, round: result } = await trainAndTest(data, labelled, round, config);
    try {
      rounds.push(result);
      if (result.accuracy >= 0.95) {
        onRound(result);
        stopped = 'reached 95%';
        break;
      }
      if (round < lastRound(config)) {
        const t = performance.now();
        const pool = unlabelledPool(data, labelled);
        if (pool.length === 0) {
          onRound(result);
          stopped = 'pool exhausted';
          break;
        }
        labelled.push(...(await acquire(engine.model, data.train, pool, labelled, round, config)));
        result.acquireSeconds = (performance.now() - t) / 1000;
      } else if (config.maxRounds !== null && round === config.maxRounds - 1) {
        stopped = 'round limit';
      }
      onRound(result);
    } finally {
      await engine.dispose();
    }
  }
  return { strategy: config.strategy, seed: config.seed, ...milestones(rounds), rounds, stopped, seconds: (performance.now() - started) / 1000 };
}

/**
 * Random acquisition never looks at the model, so the labelled set of every round is known in advance:
 * replay the draws of rounds 0..round−1 (the same ones runLoop makes) and train only this round. Lets
 * the rounds of the random baseline, the longest run, go to different processes.
 */
export async function runRandomRound(config: LoopConfig, round: number): Promise<RoundResult> {
  if (config.strategy !== 'random' || config.diversityFactor > 0) throw new Error('only plain random acquisition can skip rounds');
  const data = await loadData(config.testLimit);
  const labelled = initialLabels(data, config);
  for (let r = 0; r < round; r++) labelled.push(...randomPicks(unlabelledPool(data, labelled), r, config));
  const { engine, round: result } = await trainAndTest(data, labelled, round, config);
  await engine.dispose();
  return result;
}

/** Labels at the first round that reached 90 % / 95 % (rounds in order, from round 0). */
export function milestones(rounds: readonly RoundResult[]): Pick<LoopResult, 'labelsTo90' | 'labelsTo95'> {
  return {
    labelsTo90: rounds.find((r) => r.accuracy >= 0.9)?.labels ?? null,
    labelsTo95: rounds.find((r) => r.accuracy >= 0.95)?.labels ?? null,
  };
}

function randomPicks(pool: number[], round: number, config: LoopConfig): number[] {
  const rng = createRng(config.seed);
  const candidates = sample(pool, config.poolSubsample, rng.fork(`pool:${round}`));
  const random = rng.fork(`random:${round}`);
  const scores = candidates.map((_, i) => acquisitionScore('random', [1], { random: () => random.next() }));
  return topIndices(scores, config.acquire).map((i) => candidates[i]!);
}

/** Scores a fresh random subsample of the pool and returns the `acquire` train indices to label. */
async function acquire(
  model: Parameters<typeof predict>[0],
  train: ImageSet,
  pool: number[],
  labelled: number[],
  round: number,
  config: LoopConfig,
): Promise<number[]> {
  if (config.strategy === 'random' && config.diversityFactor === 0) return randomPicks(pool, round, config);
  const rng = createRng(config.seed);
  const candidates = sample(pool, config.poolSubsample, rng.fork(`pool:${round}`));
  const random = rng.fork(`random:${round}`);
  const next = () => random.next();
  const bald = config.strategy === 'bald';
  const diverse = config.diversityFactor > 0;
  const predictions = await predict(model, train.subset(candidates).x, {
    batchSize: 500,
    topK: 1,
    mcSamples: bald ? config.mcSamples : 0,
    seed: rng.fork(`mc:${round}`).uint32(),
    embeddings: diverse,
  });
  const scores = predictions.map((p) =>
    acquisitionScore(config.strategy, p.probabilities, { mcSamples: p.mcSamples, random: next }),
  );
  if (!diverse) return topIndices(scores, config.acquire).map((i) => candidates[i]!);
  const centers = (await predict(model, train.subset(labelled).x, { batchSize: 500, topK: 1, embeddings: true })).map((p) => p.embedding!);
  const embeddings = predictions.map((p) => p.embedding!);
  return selectBatch(scores, embeddings, config.acquire, { candidatesFactor: config.diversityFactor, centers }).map((i) => candidates[i]!);
}
