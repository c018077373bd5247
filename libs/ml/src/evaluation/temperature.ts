// Temperature scaling (Guo et al. 2017): one scalar T > 0 dividing the logits, fitted on the validation
// split by minimising NLL. It changes confidences, never the predicted class.
import { calibration } from './evaluate.js';
import { negativeLogLikelihood, softmaxWithTemperature } from './softmax.js';

/** Search range of T. Beyond it the model is either nearly argmax-hard or nearly uniform. */
export const MIN_TEMPERATURE = 0.01;
export const MAX_TEMPERATURE = 100;

/**
 * The T minimising validation NLL, by golden-section search on log T (NLL is convex in 1/T, hence
 * unimodal in log T; the search is deterministic). Returns 1 when no T does better than 1, e.g. for
 * empty input or constant logits.
 */
export function fitTemperature(logits: ArrayLike<number>, labels: ArrayLike<number>, k = labels.length ? logits.length / labels.length : 1): number {
  if (labels.length === 0) return 1;
  const f = (t: number) => negativeLogLikelihood(logits, labels, k, Math.exp(t));
  const ratio = (Math.sqrt(5) - 1) / 2;
  let a = Math.log(MIN_TEMPERATURE);
  let b = Math.log(MAX_TEMPERATURE);
  let c = b - ratio * (b - a);
  let d = a + ratio * (b - a);
  let fc = f(c);
  let fd = f(d);
  while (b - a > 1e-6) {
    if (fc <= fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - ratio * (b - a);
      fc = f(c);
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + ratio * (b - a);
      fd = f(d);
    }
  }
  const t = (a + b) / 2;
  // Demand a real gain over T = 1, not rounding noise (flat NLL for constant logits).
  const atOne = f(0);
  return f(t) < atOne - 1e-9 * Math.max(1, atOne) ? Math.exp(t) : 1;
}

export interface CalibrationReport {
  temperature: number;
  eceBefore: number;
  eceAfter: number;
  nllBefore: number;
  nllAfter: number;
}

/**
 * ECE and NLL of logits (usually the test split) at T = 1 and at `temperature` (fitted on validation).
 */
export function calibrationReport(logits: ArrayLike<number>, labels: ArrayLike<number>, k: number, temperature: number): CalibrationReport {
  const before = softmaxWithTemperature(logits, k, 1);
  const after = softmaxWithTemperature(logits, k, temperature);
  return {
    temperature,
    eceBefore: calibration(before, labels, k).ece,
    eceAfter: calibration(after, labels, k).ece,
    nllBefore: negativeLogLikelihood(logits, labels, k, 1),
    nllAfter: negativeLogLikelihood(logits, labels, k, temperature),
  };
}
