// Blind audits of auto-labels: a random share goes to human review, and the audited error rate
// decides whether a model's auto-labels still meet the target.
import { InvalidArgumentError } from '@labelloop/common';
import { clopperPearsonInterval, clopperPearsonUpper } from './clopper-pearson.js';

/** Share of auto-labelled items audited by default (the 2 %). */
export const DEFAULT_AUDIT_SHARE = 0.02;

/** ceil(share·n) of the ids, at least min(minimum, n), drawn without replacement (order of the draw). */
export function sampleAudit<T>(ids: readonly T[], share: number, minimum: number, random: () => number): T[] {
  if (!(share >= 0 && share <= 1)) throw new InvalidArgumentError(`audit share must be in [0, 1], got ${share}`);
  if (!Number.isInteger(minimum) || minimum < 0) throw new InvalidArgumentError(`audit minimum must be an integer ≥ 0, got ${minimum}`);
  const n = ids.length;
  const count = Math.min(n, Math.max(Math.ceil(share * n), minimum));
  const pool = ids.slice();
  // Partial Fisher–Yates: the first `count` slots end up a uniform sample.
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(random() * (n - i));
    const tmp = pool[i]!;
    pool[i] = pool[j]!;
    pool[j] = tmp;
  }
  return pool.slice(0, count);
}

export type AuditVerdictKind = 'pending' | 'passed' | 'failed';

export interface AuditVerdict {
  /** Observed error rate (0 with no audits). */
  error: number;
  /** Two-sided Clopper–Pearson interval at the given confidence. */
  lower: number;
  upper: number;
  verdict: AuditVerdictKind;
  /** Audits needed before an error-free audit could pass (its upper bound ≤ ε). */
  auditsToDecide: number;
}

export interface AuditOptions {
  targetError: number;
  confidence: number;
}

/**
 * - failed: the lower bound is above ε (significant evidence the error exceeds the target), or there are
 *   at least auditsToDecide audits and the upper bound is still above ε.
 * - passed: the upper bound is ≤ ε.
 * - pending: otherwise. With few audits the upper bound is above ε even with no errors at all (0 of
 *   n at 95 % bounds the error only below 1 − 0.025^(1/n): 183 audits to get under 2 %), so failing
 *   on "upper > ε" before then would fail every model; after that many audits, an upper bound still
 *   above ε means the audits could not confirm the target, and the auto-labels go back to review.
 */
export function auditVerdict(audited: number, errors: number, options: AuditOptions): AuditVerdict {
  const { targetError, confidence } = options;
  if (!(targetError > 0 && targetError < 1)) throw new InvalidArgumentError(`targetError must be in (0, 1), got ${targetError}`);
  if (!(confidence > 0 && confidence < 1)) throw new InvalidArgumentError(`confidence must be in (0, 1), got ${confidence}`);
  const alpha = 1 - confidence;
  const { lower, upper } = clopperPearsonInterval(errors, audited, alpha);
  const auditsToDecide = errorFreeAuditsToPass(targetError, alpha);
  const verdict: AuditVerdictKind =
    lower > targetError || (audited >= auditsToDecide && upper > targetError)
      ? 'failed'
      : upper <= targetError
        ? 'passed'
        : 'pending';
  return { error: audited > 0 ? errors / audited : 0, lower, upper, verdict, auditsToDecide };
}

/** The smallest n whose two-sided upper bound after 0 errors, 1 − (alpha/2)^(1/n), is ≤ ε. */
function errorFreeAuditsToPass(targetError: number, alpha: number): number {
  let n = Math.max(1, Math.ceil(Math.log(alpha / 2) / Math.log(1 - targetError)) - 1);
  // The closed form can be off by one in floating point: settle on the exact bound.
  while (clopperPearsonUpper(0, n, alpha / 2) > targetError) n++;
  while (n > 1 && clopperPearsonUpper(0, n - 1, alpha / 2) <= targetError) n--;
  return n;
}
