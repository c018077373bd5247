// The original design's four knobs: optimizer, learning rate, epochs, momentum.
import type { OptimizerConfig, OptimizerName } from '../engine/types.js';
import { createRng } from '@labelloop/common';

export interface SearchSpace {
  optimizers: OptimizerName[];
  /** Sampled log-uniformly. */
  learningRate: { min: number; max: number };
  /** Integer, sampled uniformly (random search); successive halving uses min/max as its budgets. */
  epochs: { min: number; max: number };
  /** Sampled uniformly, for the optimizers that use it ('momentum' and 'rmsprop'). */
  momentum: { min: number; max: number };
}

export const DEFAULT_SEARCH_SPACE: SearchSpace = {
  optimizers: ['sgd', 'momentum', 'adam', 'rmsprop'],
  learningRate: { min: 1e-4, max: 1e-1 },
  epochs: { min: 1, max: 27 },
  momentum: { min: 0.5, max: 0.99 },
};

const OPTIMIZERS: readonly OptimizerName[] = ['sgd', 'momentum', 'adam', 'rmsprop'];

export function searchSpace(overrides: Partial<SearchSpace> = {}): SearchSpace {
  const space = { ...DEFAULT_SEARCH_SPACE, ...overrides };
  const range = (name: string, r: { min: number; max: number }, positive: boolean) => {
    if (!(Number.isFinite(r.min) && Number.isFinite(r.max) && r.min <= r.max && (positive ? r.min > 0 : r.min >= 0))) {
      throw new RangeError(`search space ${name} range ${JSON.stringify(r)} is invalid`);
    }
  };
  if (space.optimizers.length === 0 || space.optimizers.some((o) => !OPTIMIZERS.includes(o))) {
    throw new RangeError(`search space optimizers must be a non-empty subset of ${OPTIMIZERS.join(', ')}`);
  }
  range('learningRate', space.learningRate, true);
  range('epochs', space.epochs, true);
  if (!Number.isInteger(space.epochs.min) || !Number.isInteger(space.epochs.max)) throw new RangeError('search space epochs must be integers');
  range('momentum', space.momentum, false);
  if (space.momentum.max >= 1) throw new RangeError('momentum must stay below 1');
  return space;
}

/** The i-th configuration of a search: a pure function of (seed, i), so nothing random lives in the state. */
export function sampleConfig(space: SearchSpace, seed: number, i: number): { optimizer: OptimizerConfig; epochs: number } {
  const rng = createRng(seed).fork(`config-${i}`);
  const name = space.optimizers[rng.int(space.optimizers.length)]!;
  const { min, max } = space.learningRate;
  const learningRate = Math.exp(Math.log(min) + rng.next() * (Math.log(max) - Math.log(min)));
  const momentum = space.momentum.min + rng.next() * (space.momentum.max - space.momentum.min);
  const epochs = space.epochs.min + rng.int(space.epochs.max - space.epochs.min + 1);
  const optimizer: OptimizerConfig = name === 'momentum' || name === 'rmsprop' ? { name, learningRate, momentum } : { name, learningRate };
  return { optimizer, epochs };
}
