// Metrics on a held-out split from predicted probabilities (n·k, row i = image i).

export interface ClassMetrics {
  class: string;
  precision: number;
  recall: number;
  f1: number;
  /** True examples of the class. */
  support: number;
  /** Examples predicted as the class. */
  predicted: number;
}

export interface CalibrationBin {
  /** Bin range of confidence (max probability), (lower, upper]. */
  lower: number;
  upper: number;
  count: number;
  /** Mean confidence and accuracy of the bin's examples (0 when empty). */
  confidence: number;
  accuracy: number;
}

export interface EvaluationReport {
  n: number;
  accuracy: number;
  /** Mean F1 over classes that have support or predictions (classes with neither are left out, F1 being undefined). */
  macroF1: number;
  perClass: ClassMetrics[];
  /** confusion[true][predicted] counts. */
  confusion: number[][];
  /** Expected calibration error over 15 equal-width confidence bins. */
  ece: number;
  /** Mean negative log-likelihood of the true labels. */
  nll: number;
  calibrationBins: CalibrationBin[];
}

export const ECE_BINS = 15;

function checkShapes(probs: ArrayLike<number>, labels: ArrayLike<number>, k: number): number {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`need at least one class, got ${k}`);
  const n = labels.length;
  if (probs.length !== n * k) throw new RangeError(`probs has ${probs.length} values, expected n·k = ${n}·${k}`);
  for (let i = 0; i < n; i++) {
    const label = labels[i]!;
    if (!Number.isInteger(label) || label < 0 || label >= k) throw new RangeError(`label ${label} at ${i} is outside 0..${k - 1}`);
  }
  return n;
}

/** The arg max of row i (lowest index on ties) and its probability. */
function top(probs: ArrayLike<number>, k: number, i: number): [index: number, p: number] {
  let best = 0;
  let bestP = probs[i * k]!;
  for (let j = 1; j < k; j++) {
    const p = probs[i * k + j]!;
    if (p > bestP) (best = j), (bestP = p);
  }
  return [best, bestP];
}

/** Reliability bins and ECE = Σ_b |B_b|/n · |accuracy(B_b) − confidence(B_b)| (Guo et al. 2017). */
export function calibration(probs: ArrayLike<number>, labels: ArrayLike<number>, k: number, bins = ECE_BINS): { ece: number; bins: CalibrationBin[] } {
  const n = checkShapes(probs, labels, k);
  const count = new Array<number>(bins).fill(0);
  const confSum = new Array<number>(bins).fill(0);
  const correct = new Array<number>(bins).fill(0);
  for (let i = 0; i < n; i++) {
    const [pred, conf] = top(probs, k, i);
    // Bin b holds confidences in (b/B, (b+1)/B]; a confidence of exactly 0 joins the first bin.
    const b = Math.min(bins - 1, Math.max(0, Math.ceil(conf * bins) - 1));
    count[b]!++;
    confSum[b]! += conf;
    if (pred === labels[i]) correct[b]!++;
  }
  let ece = 0;
  const out: CalibrationBin[] = [];
  for (let b = 0; b < bins; b++) {
    const c = count[b]!;
    const confidence = c ? confSum[b]! / c : 0;
    const accuracy = c ? correct[b]! / c : 0;
    if (c) ece += (c / n) * Math.abs(accuracy - confidence);
    out.push({ lower: b / bins, upper: (b + 1) / bins, count: c, confidence, accuracy });
  }
  return { ece, bins: out };
}

export function expectedCalibrationError(probs: ArrayLike<number>, labels: ArrayLike<number>, k: number, bins = ECE_BINS): number {
  return calibration(probs, labels, k, bins).ece;
}

/**
 * Accuracy, macro-F1, per-class precision/recall/F1, confusion matrix, ECE and NLL. Precision of a
 * class never predicted and recall of a class with no examples count as 0 (so their F1 is 0).
 */
export function evaluate(probs: ArrayLike<number>, labels: ArrayLike<number>, classes: readonly string[]): EvaluationReport {
  const k = classes.length;
  const n = checkShapes(probs, labels, k);
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  let correct = 0;
  let nll = 0;
  for (let i = 0; i < n; i++) {
    const label = labels[i]!;
    const [pred] = top(probs, k, i);
    confusion[label]![pred]!++;
    if (pred === label) correct++;
    // Clamp so a confident mistake costs a large but finite loss.
    nll -= Math.log(Math.max(probs[i * k + label]!, 1e-12));
  }
  const perClass: ClassMetrics[] = [];
  let f1Sum = 0;
  let f1Count = 0;
  for (let c = 0; c < k; c++) {
    const tp = confusion[c]![c]!;
    const support = confusion[c]!.reduce((s, v) => s + v, 0);
    let predicted = 0;
    for (let t = 0; t < k; t++) predicted += confusion[t]![c]!;
    const precision = predicted ? tp / predicted : 0;
    const recall = support ? tp / support : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    perClass.push({ class: classes[c]!, precision, recall, f1, support, predicted });
    if (support > 0 || predicted > 0) (f1Sum += f1), f1Count++;
  }
  const { ece, bins } = calibration(probs, labels, k);
  return {
    n,
    accuracy: n ? correct / n : 0,
    macroF1: f1Count ? f1Sum / f1Count : 0,
    perClass,
    confusion,
    ece,
    nll: n ? nll / n : 0,
    calibrationBins: bins,
  };
}
