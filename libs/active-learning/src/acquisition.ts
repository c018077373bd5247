// Acquisition scores: how much labelling an unlabelled item is expected to teach the model.
// Higher = more informative, for every strategy, so a review queue sorts by score descending.
import { InvalidArgumentError } from '@labelloop/common';

export const ACQUISITION_STRATEGIES = ['random', 'least_confidence', 'margin', 'entropy', 'bald'] as const;
export type AcquisitionStrategy = (typeof ACQUISITION_STRATEGIES)[number];

export interface AcquisitionOptions {
  /** BALD: T softmax vectors from stochastic forward passes (MC dropout), each of the classes' length. */
  mcSamples?: readonly ArrayLike<number>[];
  /** random: a uniform generator in [0, 1), seeded for a reproducible order. */
  random?: () => number;
}

export function isAcquisitionStrategy(value: string): value is AcquisitionStrategy {
  return (ACQUISITION_STRATEGIES as readonly string[]).includes(value);
}

/**
 * - least_confidence: 1 − max p.
 * - margin: 1 − (p1 − p2), the two most probable classes (in [0, 1]; 1 = a tie).
 * - entropy: −Σ p log p (nats).
 * - bald: mutual information between the label and the weights (Houlsby et al. 2011, Gal et al. 2017),
 *   H(mean_t p_t) − mean_t H(p_t) over the MC-dropout samples: high when the passes disagree, 0 when they agree.
 * - random: a uniform draw.
 */
export function acquisitionScore(
  strategy: AcquisitionStrategy,
  probabilities: ArrayLike<number>,
  options: AcquisitionOptions = {},
): number {
  if (probabilities.length < 1) throw new InvalidArgumentError('probabilities are empty');
  switch (strategy) {
    case 'random':
      if (!options.random) throw new InvalidArgumentError('random acquisition needs a (seeded) random generator');
      return options.random();
    case 'least_confidence': {
      let max = -Infinity;
      for (let i = 0; i < probabilities.length; i++) max = Math.max(max, probabilities[i]!);
      return 1 - max;
    }
    case 'margin': {
      const [p1, p2] = topTwo(probabilities);
      return 1 - (p1 - p2);
    }
    case 'entropy':
      return entropy(probabilities);
    case 'bald':
      return bald(options.mcSamples, probabilities.length);
    default:
      throw new InvalidArgumentError(`unknown acquisition strategy ${JSON.stringify(strategy)}`);
  }
}

/** Shannon entropy in nats; 0 · log 0 = 0. */
export function entropy(p: ArrayLike<number>): number {
  let h = 0;
  for (let i = 0; i < p.length; i++) {
    const v = p[i]!;
    if (v > 0) h -= v * Math.log(v);
  }
  return h;
}

function topTwo(p: ArrayLike<number>): [number, number] {
  let first = -Infinity;
  let second = 0; // one class: no runner-up
  for (let i = 0; i < p.length; i++) {
    const v = p[i]!;
    if (v > first) {
      if (i > 0) second = first;
      first = v;
    } else if (v > second) {
      second = v;
    }
  }
  return [first, second];
}

function bald(samples: readonly ArrayLike<number>[] | undefined, classes: number): number {
  if (!samples || samples.length === 0) throw new InvalidArgumentError('BALD needs MC-dropout samples (mcSamples)');
  const mean = new Float64Array(classes);
  let meanEntropy = 0;
  for (const s of samples) {
    if (s.length !== classes) throw new InvalidArgumentError(`an MC sample has ${s.length} classes, expected ${classes}`);
    for (let i = 0; i < classes; i++) mean[i]! += s[i]! / samples.length;
    meanEntropy += entropy(s) / samples.length;
  }
  // Mathematically ≥ 0 (Jensen); rounding can leave a tiny negative.
  return Math.max(0, entropy(mean) - meanEntropy);
}
