// Exact (Clopper–Pearson) binomial confidence bounds: the bound p is where observing `errors` or
// fewer (more) out of n has probability alpha, which is a quantile of a beta distribution.
import betaincinv from '@stdlib/math-base-special-betaincinv';
import { InvalidArgumentError } from '@labelloop/common';

function assertCounts(errors: number, n: number, alpha: number): void {
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`n must be an integer ≥ 0, got ${n}`);
  if (!Number.isInteger(errors) || errors < 0 || errors > n) {
    throw new InvalidArgumentError(`errors must be an integer in 0..${n}, got ${errors}`);
  }
  if (!(alpha > 0 && alpha < 1)) throw new InvalidArgumentError(`alpha must be in (0, 1), got ${alpha}`);
}

/**
 * One-sided upper bound on the error rate at confidence 1 − alpha after `errors` of n:
 * the p with P(Binomial(n, p) ≤ errors) = alpha. No observations (n = 0) bound nothing: 1.
 */
export function clopperPearsonUpper(errors: number, n: number, alpha: number): number {
  assertCounts(errors, n, alpha);
  if (errors === n) return 1;
  return betaincinv(1 - alpha, errors + 1, n - errors);
}

/** One-sided lower bound at confidence 1 − alpha: the p with P(Binomial(n, p) ≥ errors) = alpha; 0 when errors = 0. */
export function clopperPearsonLower(errors: number, n: number, alpha: number): number {
  assertCounts(errors, n, alpha);
  if (errors === 0) return 0;
  return betaincinv(alpha, errors, n - errors + 1);
}

/** Two-sided interval at confidence 1 − alpha (alpha/2 in each tail); [0, 1] when n = 0. */
export function clopperPearsonInterval(errors: number, n: number, alpha: number): { lower: number; upper: number } {
  assertCounts(errors, n, alpha);
  return { lower: clopperPearsonLower(errors, n, alpha / 2), upper: clopperPearsonUpper(errors, n, alpha / 2) };
}
