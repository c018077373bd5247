import type { Item, LabelSource } from '../types.js';

// The review queue as the dataset service sees it: tasks leased to reviewers, their answers and
// the active-learning report. grpc/review-handlers.ts maps these to and from protobuf.

export const REVIEW_REASONS = ['uncertain', 'audit', 'suspected_label_error'] as const;
export type ReviewReason = (typeof REVIEW_REASONS)[number];

export type ReviewAction = 'label' | 'skip' | 'not_in_classes';

export interface ReviewAnswer {
  itemId: string;
  action: ReviewAction | undefined;
  /** For 'label'. */
  label: string;
}

export interface Suggestion {
  label: string;
  confidence: number;
}

export interface ReviewTask {
  /** For audits the item comes without its label (the audit is blind). */
  item: Item;
  reason: ReviewReason;
  /** Top-k of the item's latest prediction; empty for audits. */
  suggestions: Suggestion[];
  modelVersion: number;
  leaseExpiresAt: Date;
  /** The label under suspicion (suspected label errors only). */
  currentLabel: string | null;
}

export interface LeaseResult {
  tasks: ReviewTask[];
  /** Open tasks nobody holds a live lease on, after this lease. */
  remaining: number;
}

/** Why an answer was refused; the other answers of the batch go on. */
export type AnswerRefusal = 'lease_lost' | 'not_leased' | 'unknown_class' | 'invalid_answer';

export type AnswerResult =
  | { itemId: string; accepted: true; item: Item | undefined }
  | { itemId: string; accepted: false; code: AnswerRefusal; reason: string };

export interface AuditCounts {
  audited: number;
  errors: number;
}

export interface AuditSummary extends AuditCounts {
  modelVersion: number;
  /** errors / audited (0 before the first audit). */
  error: number;
  /** Two-sided Clopper–Pearson interval at the dataset's confidence. */
  lower: number;
  upper: number;
  verdict: 'pending' | 'passed' | 'failed';
}

export interface QueueDepth {
  uncertain: number;
  audit: number;
  suspectedLabelError: number;
  /** Tasks under a live lease (any reason). */
  leased: number;
}
