import { auditVerdict, clopperPearsonInterval } from '@labelloop/active-learning';
import type { AutoLabelDecision } from '../scoring/types.js';
import type { LabelSource } from '../types.js';
import type { AuditCounts, AuditSummary, QueueDepth } from './types.js';

// The active-learning report of one dataset: per scored model version what it auto-labelled and
// how its audits came out, the review queue, the labels by source, and the human labels saved.

export interface VersionReport {
  modelVersion: number;
  poolItems: number;
  autoLabelled: number;
  /** autoLabelled / poolItems at scoring time (0 for an empty pool). */
  coverage: number;
  audit: AuditSummary;
  suspectedLabelErrors: number;
  decision: AutoLabelDecision | null;
}

export interface ActiveLearningReport {
  /** Newest model version first. */
  versions: VersionReport[];
  queue: QueueDepth;
  labels: Record<LabelSource, number>;
  estimatedLabelsSaved: number;
}

export interface ReportInput {
  /** The dataset's ε and 1 − δ (as set; the audit is judged against what the user asked for). */
  targetError: number;
  confidence: number;
  /** Successful scorings, any order. */
  scorings: Array<{ modelVersion: number; decision: AutoLabelDecision | null }>;
  audits: ReadonlyMap<number, AuditCounts>;
  queue: QueueDepth;
  labels: Record<LabelSource, number>;
}

/** Audit figures of one version: observed error, two-sided Clopper–Pearson interval at 1 − δ, verdict. */
export function summarizeAudit(
  modelVersion: number,
  counts: AuditCounts,
  settings: { targetError: number; confidence: number },
): AuditSummary {
  const verdict = auditVerdict(counts.audited, counts.errors, settings);
  const { lower, upper } = clopperPearsonInterval(counts.errors, counts.audited, 1 - settings.confidence);
  return {
    modelVersion,
    audited: counts.audited,
    errors: counts.errors,
    error: counts.audited > 0 ? counts.errors / counts.audited : 0,
    lower,
    upper,
    verdict: verdict.verdict,
  };
}

/**
 * Labels saved: the latest scoring's accepted auto-labels, each counted as a label a random-order
 * labeller would have had to add, discounted by the share that may be wrong — the audited upper
 * bound once the audit has a verdict, ε while it is pending.
 */
export function estimateLabelsSaved(latest: VersionReport | undefined, targetError: number): number {
  if (!latest) return 0;
  const wrongShare = latest.audit.verdict === 'pending' ? targetError : latest.audit.upper;
  return Math.max(0, Math.floor(latest.autoLabelled * (1 - wrongShare)));
}

export function buildReport(input: ReportInput): ActiveLearningReport {
  const settings = { targetError: input.targetError, confidence: input.confidence };
  const versions = [...input.scorings]
    .sort((a, b) => b.modelVersion - a.modelVersion)
    .map(({ modelVersion, decision }): VersionReport => {
      const poolItems = decision?.poolItems ?? 0;
      const autoLabelled = decision?.autoLabelled ?? 0;
      return {
        modelVersion,
        poolItems,
        autoLabelled,
        coverage: poolItems > 0 ? autoLabelled / poolItems : 0,
        audit: summarizeAudit(modelVersion, input.audits.get(modelVersion) ?? { audited: 0, errors: 0 }, settings),
        suspectedLabelErrors: decision?.suspectedLabelErrors ?? 0,
        decision,
      };
    });
  return {
    versions,
    queue: input.queue,
    labels: input.labels,
    estimatedLabelsSaved: estimateLabelsSaved(versions[0], input.targetError),
  };
}
