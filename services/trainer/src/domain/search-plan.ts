import { InvalidArgumentError } from '@labelloop/common';
import { createRandomSearch, createSuccessiveHalving, proposeTrials, type SearchState, type Trial } from '@labelloop/ml';
import type { Queryable } from '@labelloop/storage';
import { enqueueWork } from '../adapters/trainer-events.js';
import { insertTrial, mergeProgress, saveSearchState } from '../adapters/trial-repository.js';
import type { HyperParameters, SearchSettings, TrainingRun } from './types.js';

// Hyper-parameter search of a run: libs/ml's search state machine, persisted on the run row,
// with each proposed trial a row in training.trials and a work item of its own.

/** Random search draws this many configurations when the request names no number. */
export const DEFAULT_RANDOM_TRIALS = 8;
const MAX_TRIALS = 100;

export function validateSearch(s: SearchSettings): SearchSettings {
  if (s.strategy === 'NONE') return s;
  if (!(Number.isInteger(s.trials) && s.trials >= 0 && s.trials <= MAX_TRIALS)) throw new InvalidArgumentError(`search.trials must be 0..${MAX_TRIALS}, got ${s.trials}`);
  if (!(Number.isInteger(s.maxEpochs) && s.maxEpochs >= 0 && s.maxEpochs <= 1000)) throw new InvalidArgumentError(`search.max_epochs must be 0..1000, got ${s.maxEpochs}`);
  return s;
}

/**
 * The search over optimizer, learning rate, momentum and epochs (1..max_epochs, default the run's
 * epochs); batch size stays the run's. Seed: search.seed, or the run's when 0.
 */
export function createSearchState(s: SearchSettings, runSeed: number, base: HyperParameters): SearchState {
  const seed = s.seed || runSeed;
  const space = { epochs: { min: 1, max: s.maxEpochs || base.epochs } };
  if (s.strategy === 'RANDOM') return createRandomSearch({ seed, numTrials: s.trials || DEFAULT_RANDOM_TRIALS, space });
  return createSuccessiveHalving({ seed, space, ...(s.trials ? { numConfigs: s.trials } : {}) });
}

/** A trial's configuration as the run's hyper-parameters (epochs = its budget). */
export function trialHyperParameters(trial: Trial, base: HyperParameters): HyperParameters {
  return {
    optimizer: trial.params.name,
    learningRate: trial.params.learningRate,
    epochs: trial.budget,
    // Only 'momentum' and 'rmsprop' use it, and the search always samples it for them.
    momentum: trial.params.momentum ?? 0,
    batchSize: base.batchSize,
  };
}

export function searchCounters(state: SearchState): { trialsDone: number; trialsTotal: number } {
  return {
    trialsDone: state.trials.filter((r) => r.status === 'completed' || r.status === 'failed').length,
    trialsTotal: state.trials.length,
  };
}

/** Hands out the trials the state allows now: a row and a work item each. Saves the state and counters. */
export async function dispatchTrials(tx: Queryable, run: TrainingRun, state: SearchState, base: HyperParameters): Promise<number> {
  const trials = proposeTrials(state);
  for (const trial of trials) {
    await insertTrial(tx, { runId: run.id, trialId: trial.trialId, params: trialHyperParameters(trial, base), budget: trial.budget, seed: trial.seed, rung: trial.rung });
    await enqueueWork(tx, run, trial.trialId);
  }
  await saveSearchState(tx, run.id, state);
  await mergeProgress(tx, run.id, searchCounters(state));
  return trials.length;
}
