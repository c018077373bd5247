import { InvalidArgumentError } from '@labelloop/common';
import type { AcquisitionStrategy, ActiveLearningSettings, Diversity } from './types.js';

// A dataset's active-learning settings: defaults and the ranges the schema also checks, so a bad
// value is an INVALID_ARGUMENT naming the field instead of a constraint violation.

export const DEFAULT_ACTIVE_LEARNING: Readonly<ActiveLearningSettings> = Object.freeze({
  targetError: 0.02,
  confidence: 0.95,
  strategy: 'margin',
  diversity: 'none',
  mcSamples: 20,
  auditShare: 0.02,
  auditMinimum: 10,
  leaseSeconds: 300,
  autoLabel: true,
  errorScale: 1,
});

/** What a caller may set; undefined takes the default. errorScale is the service's own. */
export interface ActiveLearningInput {
  targetError?: number | undefined;
  confidence?: number | undefined;
  strategy?: AcquisitionStrategy | undefined;
  diversity?: Diversity | undefined;
  mcSamples?: number | undefined;
  auditShare?: number | undefined;
  auditMinimum?: number | undefined;
  leaseSeconds?: number | undefined;
  autoLabel?: boolean | undefined;
}

/** Settings with unset fields defaulted; throws InvalidArgumentError naming the first bad field. */
export function validateActiveLearning(
  input: ActiveLearningInput | undefined,
  errorScale = DEFAULT_ACTIVE_LEARNING.errorScale,
): ActiveLearningSettings {
  const d = DEFAULT_ACTIVE_LEARNING;
  const settings: ActiveLearningSettings = {
    targetError: input?.targetError ?? d.targetError,
    confidence: input?.confidence ?? d.confidence,
    strategy: input?.strategy ?? d.strategy,
    diversity: input?.diversity ?? d.diversity,
    mcSamples: input?.mcSamples ?? d.mcSamples,
    auditShare: input?.auditShare ?? d.auditShare,
    auditMinimum: input?.auditMinimum ?? d.auditMinimum,
    leaseSeconds: input?.leaseSeconds ?? d.leaseSeconds,
    autoLabel: input?.autoLabel ?? d.autoLabel,
    errorScale,
  };
  const { targetError, confidence, mcSamples, auditShare, auditMinimum, leaseSeconds } = settings;
  if (!(Number.isFinite(targetError) && targetError > 0 && targetError <= 0.5)) {
    throw new InvalidArgumentError(`target_error must be in (0, 0.5], got ${targetError}`, { field: 'target_error' });
  }
  if (!(Number.isFinite(confidence) && confidence >= 0.5 && confidence < 1)) {
    throw new InvalidArgumentError(`confidence must be in [0.5, 1), got ${confidence}`, { field: 'confidence' });
  }
  if (!(Number.isInteger(mcSamples) && mcSamples >= 2 && mcSamples <= 100)) {
    throw new InvalidArgumentError(`mc_samples must be an integer 2..100, got ${mcSamples}`, { field: 'mc_samples' });
  }
  if (!(Number.isFinite(auditShare) && auditShare >= 0 && auditShare <= 1)) {
    throw new InvalidArgumentError(`audit_share must be in [0, 1], got ${auditShare}`, { field: 'audit_share' });
  }
  if (!(Number.isInteger(auditMinimum) && auditMinimum >= 0 && auditMinimum <= 1_000_000)) {
    throw new InvalidArgumentError(`audit_minimum must be an integer 0..1000000, got ${auditMinimum}`, {
      field: 'audit_minimum',
    });
  }
  if (!(Number.isInteger(leaseSeconds) && leaseSeconds >= 5 && leaseSeconds <= 86_400)) {
    throw new InvalidArgumentError(`lease_seconds must be an integer 5..86400, got ${leaseSeconds}`, {
      field: 'lease_seconds',
    });
  }
  return settings;
}
