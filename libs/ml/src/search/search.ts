// Hyper-parameter search as a plain state machine over JSON state: proposeTrials hands out independent
// units of work (a trainer fleet may run them anywhere, in parallel), recordResult feeds results back,
// best picks the winner on the validation metric. The state can be persisted between any two calls.
import { createRng, NotFoundError } from '@labelloop/common';
import type { OptimizerConfig } from '../engine/types.js';
import { sampleConfig, type SearchSpace, searchSpace } from './search-space.js';

export interface Trial {
  trialId: string;
  /** The configuration this trial trains; the same across successive-halving rungs. */
  configId: string;
  params: OptimizerConfig;
  /** Epochs to train. */
  budget: number;
  /** Seed for the trial's training run (per configuration, so rungs differ only in budget). */
  seed: number;
  /** Successive-halving rung (always 0 for random search). */
  rung: number;
}

/** What a trial reports: the metric the search ranks by (e.g. validation accuracy) plus any JSON extras. */
export interface TrialResult {
  validationMetric: number;
  [extra: string]: unknown;
}

export type TrialStatus = 'pending' | 'running' | 'completed' | 'failed';

export interface TrialRecord {
  trial: Trial;
  status: TrialStatus;
  result?: TrialResult;
  error?: string;
}

export interface SearchState {
  version: 1;
  strategy: 'random' | 'successive-halving';
  seed: number;
  goal: 'maximize' | 'minimize';
  space: SearchSpace;
  /** Successive halving: epochs per rung, and the fraction 1/eta of configurations kept at each. */
  budgets: number[];
  eta: number;
  trials: TrialRecord[];
}

interface CommonOptions {
  seed: number;
  space?: Partial<SearchSpace>;
  goal?: 'maximize' | 'minimize';
}

function configTrial(space: SearchSpace, seed: number, i: number, rung: number, budget?: number): Trial {
  const { optimizer, epochs } = sampleConfig(space, seed, i);
  const configId = `c${String(i).padStart(3, '0')}`;
  return {
    trialId: rung === 0 && budget === undefined ? configId : `${configId}-r${rung}`,
    configId,
    params: optimizer,
    budget: budget ?? epochs,
    seed: createRng(seed).fork(`seed-${i}`).uint32(),
    rung,
  };
}

/** numTrials configurations drawn at random, each trained for its own sampled number of epochs. */
export function createRandomSearch(options: CommonOptions & { numTrials: number }): SearchState {
  if (!Number.isInteger(options.numTrials) || options.numTrials < 1) throw new RangeError(`numTrials must be ≥ 1, got ${options.numTrials}`);
  const space = searchSpace(options.space);
  const trials = Array.from({ length: options.numTrials }, (_, i) => ({
    trial: configTrial(space, options.seed, i, 0),
    status: 'pending' as const,
  }));
  return { version: 1, strategy: 'random', seed: options.seed, goal: options.goal ?? 'maximize', space, budgets: [], eta: 1, trials };
}

/**
 * Successive halving with epochs as the budget: numConfigs configurations train for the smallest budget,
 * the best 1/eta go on to eta times the epochs, and so on up to space.epochs.max. Budgets are
 * max/eta^(s−i) for i = 0..s, s = ⌊log_eta(max/min)⌋. numConfigs defaults to eta^s (one left at the top).
 */
export function createSuccessiveHalving(options: CommonOptions & { numConfigs?: number; eta?: number }): SearchState {
  const space = searchSpace(options.space);
  const eta = options.eta ?? 3;
  if (!(eta >= 2)) throw new RangeError(`eta must be ≥ 2, got ${eta}`);
  const { min, max } = space.epochs;
  const s = Math.floor(Math.log(max / min) / Math.log(eta) + 1e-9);
  const budgets = Array.from({ length: s + 1 }, (_, i) => Math.max(min, Math.round(max / eta ** (s - i))));
  const numConfigs = options.numConfigs ?? Math.round(eta ** s);
  if (!Number.isInteger(numConfigs) || numConfigs < 1) throw new RangeError(`numConfigs must be ≥ 1, got ${numConfigs}`);
  const trials = Array.from({ length: numConfigs }, (_, i) => ({
    trial: configTrial(space, options.seed, i, 0, budgets[0]),
    status: 'pending' as const,
  }));
  return { version: 1, strategy: 'successive-halving', seed: options.seed, goal: options.goal ?? 'maximize', space, budgets, eta, trials };
}

/** Trials to run now (at most `limit`), marked running. Empty while a rung waits for its last results. */
export function proposeTrials(state: SearchState, limit = Number.POSITIVE_INFINITY): Trial[] {
  const out: Trial[] = [];
  for (const record of state.trials) {
    if (out.length >= limit) break;
    if (record.status === 'pending') {
      record.status = 'running';
      out.push(structuredClone(record.trial));
    }
  }
  return out;
}

function find(state: SearchState, trialId: string): TrialRecord {
  const record = state.trials.find((r) => r.trial.trialId === trialId);
  if (!record) throw new NotFoundError(`search has no trial ${trialId}`);
  return record;
}

/** Records a trial's result. A repeated report of a finished trial is ignored (at-least-once delivery). */
export function recordResult(state: SearchState, trialId: string, result: TrialResult): SearchState {
  const record = find(state, trialId);
  if (record.status === 'completed' || record.status === 'failed') return state;
  if (!Number.isFinite(result.validationMetric)) return recordFailure(state, trialId, `validation metric ${result.validationMetric} is not finite`);
  record.status = 'completed';
  record.result = JSON.parse(JSON.stringify(result)) as TrialResult;
  advance(state);
  return state;
}

/** Records that a trial failed; it is never promoted or chosen. */
export function recordFailure(state: SearchState, trialId: string, error: string): SearchState {
  const record = find(state, trialId);
  if (record.status === 'completed' || record.status === 'failed') return state;
  record.status = 'failed';
  record.error = error;
  advance(state);
  return state;
}

/** Puts a running trial back to pending (its worker was lost), so the next proposeTrials hands it out again. */
export function requeueTrial(state: SearchState, trialId: string): SearchState {
  const record = find(state, trialId);
  if (record.status === 'running') record.status = 'pending';
  return state;
}

export function isFinished(state: SearchState): boolean {
  return state.trials.every((r) => r.status === 'completed' || r.status === 'failed');
}

/** -1 when a ranks before b: better metric, then larger budget, then earlier trial. */
function compare(state: SearchState, a: TrialRecord, b: TrialRecord): number {
  const sign = state.goal === 'maximize' ? -1 : 1;
  const diff = sign * (a.result!.validationMetric - b.result!.validationMetric);
  if (diff !== 0) return diff;
  if (a.trial.budget !== b.trial.budget) return b.trial.budget - a.trial.budget;
  return state.trials.indexOf(a) - state.trials.indexOf(b);
}

/** Successive halving: once every trial of the top rung has finished, promote the best 1/eta. */
function advance(state: SearchState): void {
  if (state.strategy !== 'successive-halving' || !isFinished(state)) return;
  const rung = Math.max(...state.trials.map((r) => r.trial.rung));
  if (rung + 1 >= state.budgets.length) return;
  const current = state.trials.filter((r) => r.trial.rung === rung);
  const ranked = current.filter((r) => r.status === 'completed').sort((a, b) => compare(state, a, b));
  const keep = ranked.slice(0, Math.max(1, Math.floor(current.length / state.eta)));
  for (const record of keep) {
    const i = Number(record.trial.configId.slice(1));
    state.trials.push({ trial: configTrial(state.space, state.seed, i, rung + 1, state.budgets[rung + 1]), status: 'pending' });
  }
}

/**
 * The best completed trial on the validation metric (ties: the larger budget, then the earlier trial).
 * Every trial is a full training run of its budget, so its params and budget (epochs) reproduce it.
 */
export function best(state: SearchState): { trial: Trial; result: TrialResult } | undefined {
  const ranked = state.trials.filter((r) => r.status === 'completed').sort((a, b) => compare(state, a, b));
  const top = ranked[0];
  return top ? { trial: structuredClone(top.trial), result: structuredClone(top.result!) } : undefined;
}
