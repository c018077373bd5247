import assert from 'node:assert/strict';
import { test } from 'node:test';
import { calibrationReport, evaluate, fitTemperature, MIN_TEMPERATURE, negativeLogLikelihood, softmaxWithTemperature } from '../src/evaluation/index.js';
import { createRng, type Rng } from '@labelloop/common';

/**
 * Logits z of a perfectly calibrated model (labels drawn from softmax(z)), returned multiplied by
 * `scale`: scale > 1 makes the model overconfident (best T = scale), scale < 1 underconfident.
 */
function syntheticLogits(rng: Rng, n: number, k: number, scale: number) {
  const logits = new Float32Array(n * k);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const z = Array.from({ length: k }, () => 2 * rng.normal());
    const p = softmaxWithTemperature(z, k, 1);
    let u = rng.next();
    let label = 0;
    while (label < k - 1 && u >= p[label]!) u -= p[label++]!;
    labels[i] = label;
    z.forEach((v, j) => (logits[i * k + j] = v * scale));
  }
  return { logits, labels };
}

test('overconfident logits: fitted T > 1 recovers the scale and lowers ECE and NLL on held-out data', () => {
  const k = 5;
  const rng = createRng(2024);
  const validation = syntheticLogits(rng.fork('validation'), 4000, k, 3);
  const testSplit = syntheticLogits(rng.fork('test'), 4000, k, 3);
  const t = fitTemperature(validation.logits, validation.labels, k);
  assert.ok(t > 2.6 && t < 3.4, `T = ${t}`);
  // A minimum: nudging T either way does not lower the validation NLL.
  const nll = (temp: number) => negativeLogLikelihood(validation.logits, validation.labels, k, temp);
  assert.ok(nll(t) <= nll(t * 1.01) && nll(t) <= nll(t / 1.01));
  assert.equal(fitTemperature(validation.logits, validation.labels, k), t, 'deterministic');

  const report = calibrationReport(testSplit.logits, testSplit.labels, k, t);
  assert.equal(report.temperature, t);
  assert.ok(report.eceAfter < report.eceBefore / 2, `ECE ${report.eceBefore} → ${report.eceAfter}`);
  assert.ok(report.eceAfter < 0.03, `ECE after ${report.eceAfter}`);
  assert.ok(report.nllAfter < report.nllBefore);
  // Scaling never changes the predicted class.
  const classes = ['a', 'b', 'c', 'd', 'e'];
  const before = evaluate(softmaxWithTemperature(testSplit.logits, k, 1), testSplit.labels, classes);
  const after = evaluate(softmaxWithTemperature(testSplit.logits, k, t), testSplit.labels, classes);
  assert.deepEqual(after.confusion, before.confusion);
});

test('underconfident logits give T < 1; calibrated ones T ≈ 1', () => {
  const under = syntheticLogits(createRng(7), 3000, 4, 0.5);
  const tUnder = fitTemperature(under.logits, under.labels);
  assert.ok(tUnder > 0.4 && tUnder < 0.6, `T = ${tUnder}`);
  const calibrated = syntheticLogits(createRng(8), 3000, 4, 1);
  const t = fitTemperature(calibrated.logits, calibrated.labels);
  assert.ok(t > 0.9 && t < 1.1, `T = ${t}`);
});

test('edge cases: always-right logits push T to the lower bound; constant logits and no data give 1', () => {
  const labels = Int32Array.from([0, 1, 2, 1]);
  const logits = new Float32Array(12);
  labels.forEach((l, i) => (logits[i * 3 + l] = 4));
  const t = fitTemperature(logits, labels, 3);
  assert.ok(t < MIN_TEMPERATURE * 1.01, `T = ${t}`);
  assert.equal(fitTemperature(new Float32Array(12).fill(0.3), labels, 3), 1);
  assert.equal(fitTemperature(new Float32Array(0), new Int32Array(0), 3), 1);
});
