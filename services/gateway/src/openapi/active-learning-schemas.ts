// JSON shapes of the active-learning routes: scoring jobs, auto-label decisions, the review
// queue, the report, and online predictions.
import { z } from 'zod';
import { Item, labelSources } from './schemas.js';

const timestamp = z.iso.datetime().meta({ description: 'RFC 3339 timestamp (UTC)' });
const count = z.int().min(0);
const ratio = z.number().min(0).max(1);

export const ClassThreshold = z
  .object({
    className: z.string().nullable().meta({ description: 'null for a global threshold.' }),
    threshold: ratio,
    accepted: count.meta({ description: 'Calibration items at or above the threshold.' }),
    errors: count.meta({ description: 'Wrong predictions among them.' }),
    errorUpperBound: ratio.meta({ description: 'Clopper–Pearson upper bound at level δ / thresholdsTried.' }),
  })
  .meta({ id: 'ClassThreshold' });

export const AutoLabelDecision = z
  .object({
    modelVersion: count,
    scope: z.enum(['global', 'per_class']).nullable().meta({ description: 'null when no threshold qualified.' }),
    thresholds: z.array(ClassThreshold),
    calibrationItems: count,
    thresholdsTried: count,
    targetError: ratio,
    confidence: ratio,
    autoLabelled: count,
    poolItems: count,
    auditItems: count,
    suspectedLabelErrors: count,
    reason: z.string().meta({ description: 'Why nothing was auto-labelled; empty otherwise.' }),
  })
  .meta({ id: 'AutoLabelDecision' });

export const scoringStatuses = ['running', 'finalizing', 'succeeded', 'superseded', 'failed'] as const;

export const ScoringJob = z
  .object({
    id: z.string(),
    datasetId: z.string(),
    modelId: z.string(),
    modelVersion: count,
    status: z.enum(scoringStatuses),
    shardsTotal: count,
    shardsDone: count,
    itemsTotal: count,
    itemsScored: count,
    failureReason: z.string(),
    createdAt: timestamp,
    finishedAt: timestamp.nullable(),
    decision: AutoLabelDecision.nullable(),
  })
  .meta({ id: 'ScoringJob', description: 'Scoring of a dataset’s items by one model version.' });

export const ScoringJobList = z.object({ jobs: z.array(ScoringJob) }).meta({ id: 'ScoringJobList' });

export const reviewReasons = ['uncertain', 'audit', 'suspected_label_error'] as const;

export const ReviewTask = z
  .object({
    item: Item.meta({ description: 'For audits the item’s label is hidden (null).' }),
    imageUrl: z.string().meta({ description: 'GET it with the same API key.' }),
    reason: z.enum(reviewReasons),
    suggestions: z
      .array(z.object({ label: z.string(), confidence: ratio }))
      .meta({ description: 'The model’s top suggestions; empty for audit items.' }),
    modelVersion: z.string(),
    leaseExpiresAt: timestamp,
    currentLabel: z.string().nullable().meta({ description: 'For suspected label errors: the label in question.' }),
  })
  .meta({ id: 'ReviewTask' });

export const ReviewTaskList = z
  .object({ tasks: z.array(ReviewTask), remaining: count.meta({ description: 'Open tasks nobody holds: exact up to 100; above that, as counted at most a few seconds ago.' }) })
  .meta({ id: 'ReviewTaskList' });

export const ReviewAnswerResults = z
  .object({
    results: z.array(
      z.object({
        itemId: z.string(),
        accepted: z.boolean(),
        code: z.string().nullable().meta({ description: 'lease_lost, not_leased, unknown_class, ... when refused.' }),
        reason: z.string().nullable(),
        item: Item.nullable(),
      }),
    ),
    accepted: count,
    refused: count,
  })
  .meta({ id: 'ReviewAnswerResults' });

export const AuditSummary = z
  .object({
    audited: count,
    errors: count,
    error: ratio,
    lowerBound: ratio,
    upperBound: ratio,
    verdict: z.enum(['pending', 'passed', 'failed']),
  })
  .meta({ id: 'AuditSummary', description: 'Blind audits of a version’s auto-labels, with a Clopper–Pearson interval.' });

export const ModelVersionReport = z
  .object({
    modelVersion: count,
    modelId: z.string().nullable(),
    status: z.string().nullable().meta({ description: 'candidate, champion or retired (from the registry).' }),
    humanLabels: count.nullable().meta({ description: 'Human labels the version was trained with.' }),
    testAccuracy: ratio.nullable(),
    testMacroF1: ratio.nullable(),
    poolItems: count,
    autoLabelled: count,
    autoLabelCoverage: ratio,
    audit: AuditSummary.nullable(),
    suspectedLabelErrors: count,
    decision: AutoLabelDecision.nullable(),
  })
  .meta({ id: 'ModelVersionReport' });

export const ActiveLearningReport = z
  .object({
    datasetId: z.string(),
    versions: z.array(ModelVersionReport).meta({ description: 'Newest version first.' }),
    queue: z.object({ uncertain: count, audit: count, suspectedLabelError: count, leased: count }),
    labels: z.record(z.enum(labelSources), count).meta({ description: 'Current labels by source.' }),
    estimatedLabelsSaved: count.meta({
      description:
        'Human labels a random-order labeller would have needed for the same number of correct labels: the ' +
        'accepted auto-labels times (1 − the audited error upper bound, or ε while no audit is conclusive).',
    }),
  })
  .meta({ id: 'ActiveLearningReport' });

export const ModelProvenance = z
  .object({
    modelId: z.string(),
    modelVersion: count,
    architecture: z.string(),
    temperature: z.number(),
    backend: z.string(),
    runId: z.string(),
    trainedAt: timestamp.nullable(),
    loadedAt: timestamp.nullable(),
  })
  .meta({ id: 'ModelProvenance' });

export const PredictResponse = z
  .object({
    predictions: z.array(
      z.object({
        fileName: z.string(),
        label: z.string(),
        confidence: ratio.meta({ description: 'Calibrated (temperature-scaled) probability of label.' }),
        topK: z.array(z.object({ label: z.string(), probability: ratio })),
      }),
    ),
    model: ModelProvenance,
  })
  .meta({ id: 'PredictResponse' });

export type AutoLabelDecisionJson = z.output<typeof AutoLabelDecision>;
export type ScoringJobJson = z.output<typeof ScoringJob>;
export type ReviewTaskJson = z.output<typeof ReviewTask>;
export type ReviewAnswerResultsJson = z.output<typeof ReviewAnswerResults>;
export type ModelVersionReportJson = z.output<typeof ModelVersionReport>;
export type ActiveLearningReportJson = z.output<typeof ActiveLearningReport>;
export type PredictResponseJson = z.output<typeof PredictResponse>;
export type ModelProvenanceJson = z.output<typeof ModelProvenance>;
