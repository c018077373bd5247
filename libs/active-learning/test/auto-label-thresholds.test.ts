import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRng, InvalidArgumentError } from '@labelloop/common';
import {
  acceptingThreshold,
  acceptsPrediction,
  chooseAutoLabelThresholds,
  clopperPearsonUpper,
  DEFAULT_CANDIDATE_THRESHOLDS,
  type AutoLabelDecision,
  type CalibrationPrediction,
} from '../src/index.js';

const EPSILON = 0.02;
const CONFIDENCE = 0.95;
const REPETITIONS = 200;

/**
 * Synthetic predictions whose accuracy rises with confidence: c = 1 − 0.5·u³ (u uniform, so most
 * items are confident), and the prediction is wrong with probability slope·(1 − c) + floor. With
 * slope 0.88 and no floor, the error among items with c ≥ t is 0.22·(1 − t): 2.2 % above 0.90 (just
 * over ε), 1.1 % above 0.95.
 */
function draw(n: number, random: () => number, classCount = 1, shape: (cls: number) => { slope: number; floor: number } = () => ({ slope: 0.88, floor: 0 })): CalibrationPrediction[] {
  return Array.from({ length: n }, () => {
    const predicted = Math.floor(random() * classCount);
    const confidence = 1 - 0.5 * random() ** 3;
    const { slope, floor } = shape(predicted);
    const wrong = random() < slope * (1 - confidence) + floor;
    return { predicted, confidence, label: wrong ? (predicted + 1) % Math.max(classCount, 2) : predicted };
  });
}

const errorRate = (items: CalibrationPrediction[]) => items.filter((p) => p.predicted !== p.label).length / items.length;

/** Runs the rule on seeded calibration sets; the realised error of what it accepts from a big pool of the same distribution. */
function repeat(
  choose: (calibration: CalibrationPrediction[]) => (p: CalibrationPrediction) => boolean,
  make: (n: number, random: () => number) => CalibrationPrediction[],
  calibrationSize: number,
) {
  let accepted = 0;
  let violations = 0;
  let classViolations = 0;
  for (let seed = 1; seed <= REPETITIONS; seed++) {
    const random = createRng(seed).next;
    const calibration = make(calibrationSize, random);
    const pool = make(20_000, random);
    const accepts = choose(calibration);
    const taken = pool.filter(accepts);
    if (taken.length === 0) continue;
    accepted++;
    if (errorRate(taken) > EPSILON) violations++;
    // Per class, the bounds hold for all classes together: any accepted class above ε is a miss.
    const classes = new Set(taken.map((p) => p.predicted));
    if ([...classes].some((c) => errorRate(taken.filter((p) => p.predicted === c)) > EPSILON)) classViolations++;
  }
  return { accepted, violations, classViolations };
}

const rule =
  (classCount: number, scopes: AutoLabelDecision['scope'][] = []) =>
  (calibration: CalibrationPrediction[]) => {
    const decision = chooseAutoLabelThresholds(calibration, { targetError: EPSILON, confidence: CONFIDENCE, classCount });
    scopes.push(decision.scope);
    return (p: CalibrationPrediction) => acceptsPrediction(decision, p.predicted, p.confidence);
  };

describe('chooseAutoLabelThresholds', () => {
  it(`keeps the realised error of accepted pool items ≤ ε in at least 1 − δ of ${REPETITIONS} seeded repetitions`, () => {
    const { accepted, violations } = repeat(rule(2), (n, r) => draw(n, r), 2000);
    assert.ok(violations <= (1 - CONFIDENCE) * REPETITIONS, `${violations} of ${REPETITIONS} repetitions exceeded ε`);
    // It must accept something most of the time, or the check above proves nothing.
    assert.ok(accepted >= 0.8 * REPETITIONS, `accepted something in only ${accepted} of ${REPETITIONS} repetitions`);
  });

  it('the same harness catches a rule without the bound (point estimate ≤ ε)', () => {
    const naive = (calibration: CalibrationPrediction[]) => {
      const t = DEFAULT_CANDIDATE_THRESHOLDS.find((threshold) => {
        const above = calibration.filter((p) => p.confidence >= threshold);
        return above.length > 0 && errorRate(above) <= EPSILON;
      });
      return (p: CalibrationPrediction) => t !== undefined && p.confidence >= t;
    };
    const { violations } = repeat(naive, (n, r) => draw(n, r), 2000);
    assert.ok(violations > 2 * (1 - CONFIDENCE) * REPETITIONS, `the naive rule exceeded ε in only ${violations} repetitions`);
  });

  it('goes per class when every class has enough predictions and that accepts more, keeping the guarantee per class', () => {
    // Class 0 is nearly always right, class 1 like the global case, class 2 wrong 5 % of the time even when sure.
    const shape = (cls: number) => [{ slope: 0.02, floor: 0 }, { slope: 0.88, floor: 0 }, { slope: 0.5, floor: 0.05 }][cls]!;
    const make = (n: number, r: () => number) => draw(n, r, 3, shape);
    const scopes: AutoLabelDecision['scope'][] = [];
    const { accepted, violations, classViolations } = repeat(rule(3, scopes), make, 3000);
    assert.ok(violations <= (1 - CONFIDENCE) * REPETITIONS, `${violations} of ${REPETITIONS} repetitions exceeded ε`);
    assert.ok(classViolations <= (1 - CONFIDENCE) * REPETITIONS, `${classViolations} repetitions had a class above ε`);
    assert.ok(accepted >= 0.8 * REPETITIONS, `accepted something in only ${accepted} repetitions`);
    assert.ok(scopes.filter((s) => s === 'per_class').length >= 0.8 * REPETITIONS, `scopes: ${JSON.stringify(count(scopes))}`);

    // One decision in detail: class 2 never qualifies, class 0 does, and each accepted class meets ε in a big pool.
    const random = createRng(7).next;
    const decision = chooseAutoLabelThresholds(make(3000, random), { targetError: EPSILON, confidence: CONFIDENCE, classCount: 3 });
    assert.equal(decision.scope, 'per_class');
    assert.equal(decision.thresholdsTried, DEFAULT_CANDIDATE_THRESHOLDS.length * 4);
    const classes = decision.thresholds.map((t) => t.classIndex);
    assert.ok(classes.includes(0) && !classes.includes(2), `classes with a threshold: ${classes.join(', ')}`);
    assert.match(decision.reason, /no threshold qualifies for class(es)? (\d, )*2$/);
    const pool = make(60_000, random);
    for (const cls of classes as number[]) {
      const taken = pool.filter((p) => p.predicted === cls && acceptsPrediction(decision, p.predicted, p.confidence));
      assert.ok(taken.length > 0 && errorRate(taken) <= EPSILON, `class ${cls}: error ${errorRate(taken)}`);
    }
    assert.ok(!pool.some((p) => p.predicted === 2 && acceptsPrediction(decision, 2, p.confidence)));
    // Class 0's threshold is lower than any single threshold could be.
    const global = chooseAutoLabelThresholds(make(3000, random), { targetError: EPSILON, confidence: CONFIDENCE, classCount: 3, minPerClass: 5000 });
    assert.ok(global.scope === null || decision.thresholds[0]!.threshold < global.thresholds[0]!.threshold, global.reason);
  });

  it('stays global, with δ over the thresholds only, when a class has too few predictions', () => {
    const random = createRng(3).next;
    const calibration = draw(2000, random, 1).map((p) => ({ ...p, label: p.label % 3 }));
    calibration.push(...Array.from({ length: 50 }, () => ({ predicted: 2, confidence: 0.999, label: 2 })));
    const decision = chooseAutoLabelThresholds(calibration, { targetError: EPSILON, confidence: CONFIDENCE, classCount: 3 });
    assert.equal(decision.scope, 'global');
    assert.equal(decision.thresholdsTried, DEFAULT_CANDIDATE_THRESHOLDS.length);
    const [t] = decision.thresholds;
    assert.equal(t!.classIndex, null);
    const above = calibration.filter((p) => p.confidence >= t!.threshold);
    assert.equal(t!.accepted, above.length);
    assert.equal(t!.errors, above.filter((p) => p.predicted !== p.label).length);
    assert.equal(t!.upperBound, clopperPearsonUpper(t!.errors, t!.accepted, (1 - CONFIDENCE) / DEFAULT_CANDIDATE_THRESHOLDS.length));
    assert.ok(t!.upperBound <= EPSILON);
    // The lowest qualifying threshold: the one below it does not qualify.
    const lower = DEFAULT_CANDIDATE_THRESHOLDS.filter((c) => c < t!.threshold).at(-1)!;
    const belowAbove = calibration.filter((p) => p.confidence >= lower);
    const alpha = (1 - CONFIDENCE) / DEFAULT_CANDIDATE_THRESHOLDS.length;
    assert.ok(clopperPearsonUpper(belowAbove.filter((p) => p.predicted !== p.label).length, belowAbove.length, alpha) > EPSILON);
    assert.match(decision.reason, new RegExp(`threshold ${t!.threshold} keeps the error bound ≤ 2% with 95% confidence`));
    assert.equal(acceptingThreshold(decision, 1, t!.threshold), t);
    assert.equal(acceptsPrediction(decision, 1, t!.threshold - 1e-9), false);
  });

  it('accepts nothing and says why when no threshold qualifies', () => {
    const calibration = Array.from({ length: 40 }, () => ({ predicted: 0, confidence: 0.9995, label: 0 }));
    const decision = chooseAutoLabelThresholds(calibration, { targetError: EPSILON, confidence: CONFIDENCE, classCount: 2 });
    assert.equal(decision.scope, null);
    assert.deepEqual(decision.thresholds, []);
    assert.equal(
      decision.reason,
      'no threshold keeps the error bound ≤ 2% with 95% confidence: the best, 0.5, accepts 40 calibration items with 0 errors, bound 13%',
    );
    assert.equal(acceptsPrediction(decision, 0, 1), false);

    const empty = chooseAutoLabelThresholds([], { targetError: EPSILON, confidence: CONFIDENCE, classCount: 2 });
    assert.equal(empty.scope, null);
    assert.match(empty.reason, /no calibration predictions/);
    const unsure = chooseAutoLabelThresholds([{ predicted: 0, confidence: 0.3, label: 0 }], { targetError: EPSILON, confidence: CONFIDENCE, classCount: 2 });
    assert.match(unsure.reason, /no calibration item reaches even threshold/);
  });

  it('rejects bad input', () => {
    const ok = { targetError: EPSILON, confidence: CONFIDENCE, classCount: 2 };
    assert.throws(() => chooseAutoLabelThresholds([{ predicted: 2, confidence: 0.9, label: 0 }], ok), InvalidArgumentError);
    assert.throws(() => chooseAutoLabelThresholds([{ predicted: 0, confidence: 1.2, label: 0 }], ok), InvalidArgumentError);
    assert.throws(() => chooseAutoLabelThresholds([], { ...ok, targetError: 0 }), InvalidArgumentError);
    assert.throws(() => chooseAutoLabelThresholds([], { ...ok, confidence: 1 }), InvalidArgumentError);
    assert.throws(() => chooseAutoLabelThresholds([], { ...ok, candidateThresholds: [] }), InvalidArgumentError);
  });
});

function count(values: unknown[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[String(v)] = (out[String(v)] ?? 0) + 1;
  return out;
}
