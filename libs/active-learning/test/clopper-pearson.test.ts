import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from '@labelloop/common';
import { clopperPearsonInterval, clopperPearsonLower, clopperPearsonUpper } from '../src/index.js';

const close = (actual: number, expected: number, tolerance = 5e-7) =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} is not within ${tolerance} of ${expected}`);

/** P(Binomial(n, p) ≤ x), summed exactly in log space. */
function binomialCdf(x: number, n: number, p: number): number {
  let logC = 0;
  let sum = 0;
  for (let k = 0; k <= x; k++) {
    if (k > 0) logC += Math.log(n - k + 1) - Math.log(k);
    sum += Math.exp(logC + k * Math.log(p) + (n - k) * Math.log1p(-p));
  }
  return sum;
}

describe('Clopper–Pearson bounds', () => {
  it('0 errors of 10 at 95 % one-sided: 1 − 0.05^(1/10) = 0.2589', () => {
    close(clopperPearsonUpper(0, 10, 0.05), 0.258866, 1e-6);
    close(clopperPearsonUpper(0, 10, 0.05), 1 - 0.05 ** (1 / 10), 1e-12);
  });

  it("matches R's binom.test intervals (two-sided 95 %)", () => {
    const cases: [number, number, number, number][] = [
      [5, 10, 0.187086, 0.812914],
      [1, 10, 0.002528579, 0.445016117],
      [3, 20, 0.03207094, 0.37892683],
      [0, 10, 0, 0.3084971],
      [10, 10, 0.6915029, 1],
    ];
    for (const [x, n, lower, upper] of cases) {
      const interval = clopperPearsonInterval(x, n, 0.05);
      close(interval.lower, lower);
      close(interval.upper, upper);
    }
  });

  it('puts exactly alpha of binomial probability beyond each bound', () => {
    for (const [x, n, alpha] of [[3, 50, 0.05], [12, 400, 0.01], [0, 183, 0.025], [7, 1000, 0.05 / 16], [49, 50, 0.1]] as const) {
      const upper = clopperPearsonUpper(x, n, alpha);
      close(binomialCdf(x, n, upper), alpha, 1e-9);
      if (x > 0) {
        const lower = clopperPearsonLower(x, n, alpha);
        close(1 - binomialCdf(x - 1, n, lower), alpha, 1e-9);
        assert.ok(lower < x / n && x / n < upper);
      }
    }
  });

  it('bounds nothing without observations, and tightens with more of them', () => {
    assert.equal(clopperPearsonUpper(0, 0, 0.05), 1);
    assert.deepEqual(clopperPearsonInterval(0, 0, 0.05), { lower: 0, upper: 1 });
    assert.equal(clopperPearsonUpper(5, 5, 0.05), 1);
    assert.ok(clopperPearsonUpper(10, 1000, 0.05) < clopperPearsonUpper(1, 100, 0.05));
  });

  it('rejects impossible counts', () => {
    assert.throws(() => clopperPearsonUpper(11, 10, 0.05), InvalidArgumentError);
    assert.throws(() => clopperPearsonUpper(-1, 10, 0.05), InvalidArgumentError);
    assert.throws(() => clopperPearsonUpper(1.5, 10, 0.05), InvalidArgumentError);
    assert.throws(() => clopperPearsonUpper(1, 10, 0), InvalidArgumentError);
  });
});
