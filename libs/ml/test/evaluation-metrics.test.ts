import assert from 'node:assert/strict';
import { test } from 'node:test';
import { evaluate, expectedCalibrationError, negativeLogLikelihood, softmaxWithTemperature } from '../src/evaluation/index.js';

const close = (actual: number, expected: number, tol = 1e-6, what = '') =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what} ${actual} ≠ ${expected}`);

test('evaluate: a hand-worked 3-class example', () => {
  // Confidences avoid bin edges (k/15) so float32 rounding cannot move them across.
  const probs = Float32Array.from([
    0.7, 0.2, 0.1, // true 0, predicted 0, confidence .70 (bin 10)
    0.3, 0.62, 0.08, // true 0, predicted 1, .62 (bin 9)
    0.1, 0.82, 0.08, // true 1, predicted 1, .82 (bin 12)
    0.05, 0.9, 0.05, // true 1, predicted 1, .90 (bin 13)
    0.5, 0.1, 0.4, // true 2, predicted 0, .50 (bin 7)
    0.19, 0.19, 0.62, // true 2, predicted 2, .62 (bin 9)
  ]);
  const labels = Int32Array.from([0, 0, 1, 1, 2, 2]);
  const report = evaluate(probs, labels, ['cat', 'dog', 'owl']);
  assert.equal(report.n, 6);
  close(report.accuracy, 4 / 6);
  assert.deepEqual(report.confusion, [
    [1, 1, 0],
    [0, 2, 0],
    [1, 0, 1],
  ]);
  const [cat, dog, owl] = report.perClass;
  assert.deepEqual([cat!.class, cat!.support, cat!.predicted], ['cat', 2, 2]);
  close(cat!.precision, 0.5), close(cat!.recall, 0.5), close(cat!.f1, 0.5);
  close(dog!.precision, 2 / 3), close(dog!.recall, 1), close(dog!.f1, 0.8);
  close(owl!.precision, 1), close(owl!.recall, 0.5), close(owl!.f1, 2 / 3);
  close(report.macroF1, (0.5 + 0.8 + 2 / 3) / 3);
  // ECE: bins {.70 ✓}, {.62 ✗, .62 ✓}, {.82 ✓}, {.90 ✓}, {.50 ✗}:
  // (|1−.7| + 2·|.5−.62| + |1−.82| + |1−.9| + |0−.5|) / 6 = 1.32 / 6.
  close(report.ece, 1.32 / 6, 1e-6, 'ece');
  const bin9 = report.calibrationBins[9]!;
  assert.equal(bin9.count, 2);
  close(bin9.accuracy, 0.5), close(bin9.confidence, 0.62);
  close(report.nll, -(Math.log(0.7) + Math.log(0.3) + Math.log(0.82) + Math.log(0.9) + Math.log(0.4) + Math.log(0.62)) / 6, 1e-6, 'nll');
});

test('evaluate: perfect one-hot predictions give accuracy 1, F1 1, ECE 0', () => {
  const labels = Int32Array.from([2, 0, 1, 1, 0]);
  const probs = new Float32Array(5 * 3);
  labels.forEach((l, i) => (probs[i * 3 + l] = 1));
  const report = evaluate(probs, labels, ['a', 'b', 'c']);
  assert.equal(report.accuracy, 1);
  assert.equal(report.macroF1, 1);
  assert.equal(report.ece, 0);
  assert.ok(report.perClass.every((c) => c.precision === 1 && c.recall === 1 && c.f1 === 1));
  close(report.nll, 0);
});

test('macro-F1 averages only classes with support or predictions', () => {
  // Class 'c' neither occurs nor is predicted: left out. Class 'b' is predicted but never true: F1 0, counted.
  const probs = Float32Array.from([0.9, 0.05, 0.05, 0.2, 0.7, 0.1, 0.8, 0.1, 0.1]);
  const report = evaluate(probs, Int32Array.from([0, 0, 0]), ['a', 'b', 'c']);
  const a = report.perClass[0]!;
  close(a.precision, 1), close(a.recall, 2 / 3), close(a.f1, 0.8);
  assert.deepEqual([report.perClass[1]!.f1, report.perClass[1]!.support, report.perClass[1]!.predicted], [0, 0, 1]);
  assert.deepEqual([report.perClass[2]!.support, report.perClass[2]!.predicted], [0, 0]);
  close(report.macroF1, 0.4);
});

test('evaluate rejects mismatched shapes and labels out of range', () => {
  assert.throws(() => evaluate(new Float32Array(5), Int32Array.from([0, 1]), ['a', 'b']), RangeError);
  assert.throws(() => evaluate(new Float32Array(4), Int32Array.from([0, 2]), ['a', 'b']), RangeError);
  assert.throws(() => evaluate(new Float32Array(0), new Int32Array(0), []), RangeError);
});

test('ECE of a uniformly unsure but always right model is 1 − confidence', () => {
  const probs = Float32Array.from([0.6, 0.4, 0.4, 0.6, 0.6, 0.4]);
  close(expectedCalibrationError(probs, Int32Array.from([0, 1, 0]), 2), 0.4, 1e-6);
});

test('softmaxWithTemperature: hand values, rows sum to 1, huge logits stay finite', () => {
  const p1 = softmaxWithTemperature([0, Math.log(3)], 2, 1);
  close(p1[0]!, 0.25), close(p1[1]!, 0.75);
  const p2 = softmaxWithTemperature([0, Math.log(3)], 2, 2);
  close(p2[1]!, Math.sqrt(3) / (1 + Math.sqrt(3)));
  const big = softmaxWithTemperature([1000, 999, -1000, 5, 5, 5], 3, 0.5);
  assert.ok(big.every(Number.isFinite));
  close(big[0]! + big[1]! + big[2]!, 1), close(big[3]!, 1 / 3);
  assert.throws(() => softmaxWithTemperature([1, 2, 3], 2), RangeError);
  assert.throws(() => softmaxWithTemperature([1, 2], 2, 0), RangeError);
  // NLL matches −log p of the softmax.
  close(negativeLogLikelihood([0, Math.log(3)], [1], 2, 1), -Math.log(0.75), 1e-12);
});
