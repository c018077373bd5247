// proto ↔ JSON for the dataset service's active-learning RPCs (scoring jobs, review queue,
// report) and the inference service's predictions.
import { datasetV1, inferenceV1 } from '@labelloop/proto';
import type {
  AutoLabelDecisionJson,
  ModelProvenanceJson,
  PredictResponseJson,
  ReviewTaskJson,
  ScoringJobJson,
} from '../openapi/active-learning-schemas.js';
import { itemToJson } from './dataset.mapping.js';

const { ScoringStatus, ReviewReason, ReviewAction } = datasetV1;

const SCORING_STATUS: Record<number, ScoringJobJson['status']> = {
  [ScoringStatus.SCORING_STATUS_RUNNING]: 'running',
  [ScoringStatus.SCORING_STATUS_FINALIZING]: 'finalizing',
  [ScoringStatus.SCORING_STATUS_SUCCEEDED]: 'succeeded',
  [ScoringStatus.SCORING_STATUS_SUPERSEDED]: 'superseded',
  [ScoringStatus.SCORING_STATUS_FAILED]: 'failed',
};

const REVIEW_REASON: Record<number, ReviewTaskJson['reason']> = {
  [ReviewReason.REVIEW_REASON_UNCERTAIN]: 'uncertain',
  [ReviewReason.REVIEW_REASON_AUDIT]: 'audit',
  [ReviewReason.REVIEW_REASON_SUSPECTED_LABEL_ERROR]: 'suspected_label_error',
};

export const REVIEW_ACTION = {
  label: ReviewAction.REVIEW_ACTION_LABEL,
  skip: ReviewAction.REVIEW_ACTION_SKIP,
  not_in_classes: ReviewAction.REVIEW_ACTION_NOT_IN_CLASSES,
} as const;

function known<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`service response has an unknown ${what}`);
  return value;
}

const iso = (date: Date | undefined): string | null => (date ? date.toISOString() : null);

export function decisionToJson(d: datasetV1.AutoLabelDecision): AutoLabelDecisionJson {
  return {
    modelVersion: d.modelVersion,
    scope: d.scope === 'global' || d.scope === 'per_class' ? d.scope : null,
    thresholds: d.thresholds.map((t) => ({
      className: t.className || null,
      threshold: t.threshold,
      accepted: t.accepted,
      errors: t.errors,
      errorUpperBound: t.errorUpperBound,
    })),
    calibrationItems: d.calibrationItems,
    thresholdsTried: d.thresholdsTried,
    targetError: d.targetError,
    confidence: d.confidence,
    autoLabelled: d.autoLabelled,
    poolItems: d.poolItems,
    auditItems: d.auditItems,
    suspectedLabelErrors: d.suspectedLabelErrors,
    reason: d.reason,
  };
}

export function scoringJobToJson(job: datasetV1.ScoringJob): ScoringJobJson {
  return {
    id: job.id,
    datasetId: job.datasetId,
    modelId: job.modelId,
    modelVersion: job.modelVersion,
    status: known(SCORING_STATUS[job.status], `scoring status ${job.status}`),
    shardsTotal: job.shardsTotal,
    shardsDone: job.shardsDone,
    itemsTotal: job.itemsTotal,
    itemsScored: job.itemsScored,
    failureReason: job.failureReason,
    createdAt: known(iso(job.createdAt) ?? undefined, 'job createdAt'),
    finishedAt: iso(job.finishedAt),
    decision: job.decision ? decisionToJson(job.decision) : null,
  };
}

export function reviewTaskToJson(task: datasetV1.ReviewTask): ReviewTaskJson {
  const item = itemToJson(known(task.item, 'review task without item'));
  return {
    item,
    imageUrl: `/v1/items/${encodeURIComponent(item.id)}/image`,
    reason: known(REVIEW_REASON[task.reason], `review reason ${task.reason}`),
    suggestions: task.suggestions.map((s) => ({ label: s.label, confidence: s.confidence })),
    modelVersion: task.modelVersion,
    leaseExpiresAt: known(iso(task.leaseExpiresAt) ?? undefined, 'lease expiry'),
    currentLabel: task.currentLabel || null,
  };
}

export function provenanceToJson(m: inferenceV1.ModelProvenance): ModelProvenanceJson {
  return {
    modelId: m.modelId,
    modelVersion: m.modelVersion,
    architecture: m.architecture,
    temperature: m.temperature,
    backend: m.backend,
    runId: m.runId,
    trainedAt: iso(m.trainedAt),
    loadedAt: iso(m.loadedAt),
  };
}

export function predictResponseToJson(r: inferenceV1.PredictResponse): PredictResponseJson {
  return {
    predictions: r.predictions.map((p) => ({
      fileName: p.fileName,
      label: p.label,
      confidence: p.confidence,
      topK: p.topK.map((c) => ({ label: c.label, probability: c.probability })),
    })),
    model: provenanceToJson(known(r.model, 'prediction without model provenance')),
  };
}
