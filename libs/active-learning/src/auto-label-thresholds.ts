// Auto-labelling with a guarantee: choose the confidence threshold above which the model's labels
// are accepted, such that the exact binomial (Clopper–Pearson) upper bound of the error among the
// calibration items above it is ≤ ε at confidence 1 − δ. Every threshold (and, per class, every
// class × threshold) is one test; a Bonferroni correction (each test at δ / tests) makes all the
// bounds hold together with probability ≥ 1 − δ, so picking the one with the most coverage among
// those that pass keeps the guarantee for the pool items drawn from the same distribution.
import { InvalidArgumentError } from '@labelloop/common';
import { clopperPearsonUpper } from './clopper-pearson.js';
import { percent } from './format.js';

/** One calibration (validation) item: the model's prediction and confidence, and the true label. */
export interface CalibrationPrediction {
  predicted: number;
  confidence: number;
  label: number;
}

export interface AutoLabelOptions {
  /** ε: the largest error rate allowed among auto-labels (e.g. 0.02). */
  targetError: number;
  /** 1 − δ: the probability that the bound holds (e.g. 0.95). */
  confidence: number;
  classCount: number;
  /** Thresholds to try (default DEFAULT_CANDIDATE_THRESHOLDS). */
  candidateThresholds?: readonly number[];
  /** Per-class thresholds are tried only when every class has at least this many calibration predictions (default 100). */
  minPerClass?: number;
}

export interface AutoLabelThreshold {
  /** The predicted class this threshold applies to; null for the global threshold. */
  classIndex: number | null;
  /** Predictions with confidence ≥ threshold are accepted. */
  threshold: number;
  /** Calibration items at or above the threshold (of that class, per class). */
  accepted: number;
  /** Of those, how many the model got wrong. */
  errors: number;
  /** Clopper–Pearson upper bound of their error rate at the corrected level (≤ targetError when chosen). */
  upperBound: number;
}

export interface AutoLabelDecision {
  /** null: nothing may be auto-labelled (see reason). */
  scope: 'global' | 'per_class' | null;
  /** Global: one entry. Per class: one per class that has a qualifying threshold (other classes accept nothing). */
  thresholds: AutoLabelThreshold[];
  /** Tests made (thresholds, plus classes × thresholds when per-class was tried): the Bonferroni count. */
  thresholdsTried: number;
  calibrationItems: number;
  targetError: number;
  confidence: number;
  /** Why this outcome, in plain words. */
  reason: string;
}

/** 0.50, 0.55 … 0.95, 0.96 … 0.99, 0.995, 0.999. */
export const DEFAULT_CANDIDATE_THRESHOLDS: readonly number[] = Object.freeze([
  0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.96, 0.97, 0.98, 0.99, 0.995, 0.999,
]);
export const DEFAULT_MIN_PER_CLASS = 100;
/** The defaults: ε = 2 %, 1 − δ = 95 %. */
export const DEFAULT_TARGET_ERROR = 0.02;
export const DEFAULT_CONFIDENCE = 0.95;

interface Family {
  /** Every candidate, in ascending threshold order. */
  evaluated: AutoLabelThreshold[];
  /** The lowest threshold whose bound is ≤ ε (the most coverage), if any. */
  chosen?: AutoLabelThreshold;
}

export function chooseAutoLabelThresholds(
  calibration: readonly CalibrationPrediction[],
  options: AutoLabelOptions,
): AutoLabelDecision {
  const { targetError, confidence, classCount } = options;
  const candidates = assertOptions(calibration, options);
  const minPerClass = options.minPerClass ?? DEFAULT_MIN_PER_CLASS;
  const delta = 1 - confidence;
  const m = candidates.length;

  const byClass: CalibrationPrediction[][] = Array.from({ length: classCount }, () => []);
  for (const item of calibration) byClass[item.predicted]!.push(item);
  // Whether to try per-class thresholds depends only on the predictions, never on the errors.
  const perClassTried = classCount >= 2 && byClass.every((items) => items.length >= minPerClass);
  // Trying both spends half of δ on each family; with all bounds holding together, either choice keeps the guarantee.
  const tests = perClassTried ? m + classCount * m : m;
  const globalAlpha = perClassTried ? delta / 2 / m : delta / m;
  const classAlpha = delta / 2 / (classCount * m);

  const global = evaluateFamily(calibration, null, candidates, globalAlpha, targetError);
  const perClass = perClassTried
    ? byClass.map((items, classIndex) => evaluateFamily(items, classIndex, candidates, classAlpha, targetError))
    : [];
  const perClassChosen = perClass.flatMap((f) => (f.chosen ? [f.chosen] : []));
  const globalCoverage = global.chosen?.accepted ?? 0;
  const perClassCoverage = perClassChosen.reduce((sum, t) => sum + t.accepted, 0);

  const base = { thresholdsTried: tests, calibrationItems: calibration.length, targetError, confidence };
  const goal = `the error bound ≤ ${percent(targetError)} with ${percent(confidence)} confidence`;
  if (perClassCoverage > globalCoverage) {
    const missing = perClass.flatMap((f, c) => (f.chosen ? [] : [c]));
    return {
      ...base,
      scope: 'per_class',
      thresholds: perClassChosen,
      reason:
        `per-class thresholds keep ${goal} (${tests} tests): they accept ${perClassCoverage} of ${calibration.length} ` +
        `calibration items, the best global threshold ${globalCoverage}` +
        (missing.length > 0 ? `; no threshold qualifies for class${missing.length > 1 ? 'es' : ''} ${missing.join(', ')}` : ''),
    };
  }
  if (global.chosen) {
    const t = global.chosen;
    return {
      ...base,
      scope: 'global',
      thresholds: [t],
      reason:
        `threshold ${t.threshold} keeps ${goal} (${tests} tests): it accepts ${t.accepted} of ${calibration.length} ` +
        `calibration items with ${t.errors} error${t.errors === 1 ? '' : 's'}, bound ${percent(t.upperBound)}` +
        (perClassTried ? `; per-class thresholds would accept ${perClassCoverage}` : ''),
    };
  }
  return { ...base, scope: null, thresholds: [], reason: `no threshold keeps ${goal}: ${bestAttempt(global, calibration.length)}` };
}

/** The threshold entry that accepts this prediction, if any (it carries the threshold and bound to record). */
export function acceptingThreshold(
  decision: Pick<AutoLabelDecision, 'scope' | 'thresholds'>,
  predictedClass: number,
  confidence: number,
): AutoLabelThreshold | undefined {
  if (decision.scope === null) return undefined;
  const entry =
    decision.scope === 'global'
      ? decision.thresholds[0]
      : decision.thresholds.find((t) => t.classIndex === predictedClass);
  return entry && confidence >= entry.threshold ? entry : undefined;
}

/** Whether a prediction may be auto-labelled under the decision. */
export function acceptsPrediction(
  decision: Pick<AutoLabelDecision, 'scope' | 'thresholds'>,
  predictedClass: number,
  confidence: number,
): boolean {
  return acceptingThreshold(decision, predictedClass, confidence) !== undefined;
}

function evaluateFamily(
  items: readonly CalibrationPrediction[],
  classIndex: number | null,
  candidates: readonly number[],
  alpha: number,
  targetError: number,
): Family {
  const evaluated = candidates.map((threshold): AutoLabelThreshold => {
    let accepted = 0;
    let errors = 0;
    for (const item of items) {
      if (item.confidence >= threshold) {
        accepted++;
        if (item.predicted !== item.label) errors++;
      }
    }
    return { classIndex, threshold, accepted, errors, upperBound: clopperPearsonUpper(errors, accepted, alpha) };
  });
  return { evaluated, chosen: evaluated.find((t) => t.upperBound <= targetError) };
}

function bestAttempt(global: Family, calibrationItems: number): string {
  if (calibrationItems === 0) return 'there are no calibration predictions';
  const best = global.evaluated.reduce((a, b) =>
    b.upperBound < a.upperBound || (b.upperBound === a.upperBound && b.accepted > a.accepted) ? b : a,
  );
  if (best.accepted === 0) return `no calibration item reaches even threshold ${best.threshold}`;
  return (
    `the best, ${best.threshold}, accepts ${best.accepted} calibration item${best.accepted === 1 ? '' : 's'} ` +
    `with ${best.errors} error${best.errors === 1 ? '' : 's'}, bound ${percent(best.upperBound)}`
  );
}

function assertOptions(calibration: readonly CalibrationPrediction[], o: AutoLabelOptions): number[] {
  if (!(o.targetError > 0 && o.targetError < 1)) throw new InvalidArgumentError(`targetError must be in (0, 1), got ${o.targetError}`);
  if (!(o.confidence > 0 && o.confidence < 1)) throw new InvalidArgumentError(`confidence must be in (0, 1), got ${o.confidence}`);
  if (!Number.isInteger(o.classCount) || o.classCount < 1) {
    throw new InvalidArgumentError(`classCount must be an integer ≥ 1, got ${o.classCount}`);
  }
  const minPerClass = o.minPerClass ?? DEFAULT_MIN_PER_CLASS;
  if (!Number.isInteger(minPerClass) || minPerClass < 1) {
    throw new InvalidArgumentError(`minPerClass must be an integer ≥ 1, got ${minPerClass}`);
  }
  const candidates = [...new Set(o.candidateThresholds ?? DEFAULT_CANDIDATE_THRESHOLDS)].sort((a, b) => a - b);
  if (candidates.length === 0) throw new InvalidArgumentError('candidateThresholds is empty');
  for (const t of candidates) {
    if (!(t >= 0 && t <= 1)) throw new InvalidArgumentError(`thresholds must be in [0, 1], got ${t}`);
  }
  calibration.forEach((item, i) => {
    for (const key of ['predicted', 'label'] as const) {
      const v = item[key];
      if (!Number.isInteger(v) || v < 0 || v >= o.classCount) {
        throw new InvalidArgumentError(`calibration item ${i}: ${key} ${v} is outside 0..${o.classCount - 1}`);
      }
    }
    if (!(item.confidence >= 0 && item.confidence <= 1)) {
      throw new InvalidArgumentError(`calibration item ${i}: confidence ${item.confidence} is outside [0, 1]`);
    }
  });
  return candidates;
}
