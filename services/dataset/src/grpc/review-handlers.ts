import { datasetV1 } from '@labelloop/proto';
import type { ActiveLearningReport, VersionReport } from '../domain/review/report.js';
import type { ReviewService } from '../domain/review/review-service.js';
import type {
  AnswerResult,
  AuditSummary,
  ReviewAction,
  ReviewAnswer,
  ReviewReason,
  ReviewTask,
} from '../domain/review/types.js';
import { LABEL_SOURCES } from '../domain/types.js';
import { itemToProto } from './convert.js';
import { sourceToProto } from './enums.js';
import { decisionToProto } from './scoring-handlers.js';

// The review RPCs of labelloop.dataset.v1.DatasetService (LeaseReviewItems, AnswerReviewItems,
// GetActiveLearningReport): proto ↔ domain mapping only; spread into createDatasetHandlers.

export interface ReviewHandlerDeps {
  review: ReviewService;
}

type ReviewHandlers = Pick<
  datasetV1.DatasetServiceImplementation,
  'leaseReviewItems' | 'answerReviewItems' | 'getActiveLearningReport'
>;

export function createReviewHandlers({ review }: ReviewHandlerDeps): ReviewHandlers {
  return {
    async leaseReviewItems(request) {
      const { tasks, remaining } = await review.lease(request.datasetId, request.actor, request.limit);
      return { tasks: tasks.map(reviewTaskToProto), remaining };
    },

    async answerReviewItems(request) {
      const answers = request.answers.map(
        (answer): ReviewAnswer => ({
          itemId: answer.itemId,
          action: actionFromProto(answer.action),
          label: answer.label,
        }),
      );
      const { results } = await review.answer(request.datasetId, request.actor, answers);
      return { results: results.map(answerResultToProto) };
    },

    async getActiveLearningReport(request) {
      return reportToProto(await review.report(request.datasetId));
    },
  };
}

const REASONS: Record<ReviewReason, datasetV1.ReviewReason> = {
  uncertain: datasetV1.ReviewReason.REVIEW_REASON_UNCERTAIN,
  audit: datasetV1.ReviewReason.REVIEW_REASON_AUDIT,
  suspected_label_error: datasetV1.ReviewReason.REVIEW_REASON_SUSPECTED_LABEL_ERROR,
};

/** UNSPECIFIED or unknown → undefined (refused per answer as invalid_answer). */
export function actionFromProto(action: datasetV1.ReviewAction): ReviewAction | undefined {
  switch (action) {
    case datasetV1.ReviewAction.REVIEW_ACTION_LABEL:
      return 'label';
    case datasetV1.ReviewAction.REVIEW_ACTION_SKIP:
      return 'skip';
    case datasetV1.ReviewAction.REVIEW_ACTION_NOT_IN_CLASSES:
      return 'not_in_classes';
    default:
      return undefined;
  }
}

export function reviewTaskToProto(task: ReviewTask): datasetV1.ReviewTask {
  return {
    item: itemToProto(task.item),
    reason: REASONS[task.reason],
    suggestions: task.suggestions.map(({ label, confidence }) => ({ label, confidence })),
    modelVersion: String(task.modelVersion),
    leaseExpiresAt: task.leaseExpiresAt,
    currentLabel: task.currentLabel ?? '',
  };
}

export function answerResultToProto(result: AnswerResult): datasetV1.ReviewAnswerResult {
  return result.accepted
    ? { itemId: result.itemId, accepted: true, code: '', reason: '', item: result.item && itemToProto(result.item) }
    : { itemId: result.itemId, accepted: false, code: result.code, reason: result.reason, item: undefined };
}

function auditToProto(audit: AuditSummary): datasetV1.AuditSummary {
  return {
    modelVersion: audit.modelVersion,
    audited: audit.audited,
    errors: audit.errors,
    error: audit.error,
    lowerBound: audit.lower,
    upperBound: audit.upper,
    verdict: audit.verdict,
  };
}

function versionToProto(version: VersionReport): datasetV1.ModelVersionReport {
  return {
    modelVersion: version.modelVersion,
    poolItems: version.poolItems,
    autoLabelled: version.autoLabelled,
    autoLabelCoverage: version.coverage,
    audit: auditToProto(version.audit),
    suspectedLabelErrors: version.suspectedLabelErrors,
    decision: version.decision ? decisionToProto(version.decision) : undefined,
  };
}

export function reportToProto(report: ActiveLearningReport): datasetV1.GetActiveLearningReportResponse {
  return {
    versions: report.versions.map(versionToProto),
    queue: { ...report.queue },
    labels: LABEL_SOURCES.map(
      (source): datasetV1.LabelCount => ({ source: sourceToProto(source), count: report.labels[source] }),
    ),
    estimatedLabelsSaved: report.estimatedLabelsSaved,
  };
}
