// Active learning over REST: a dataset's settings, its scoring jobs, the review queue
// (lease → answer) and the report that joins the dataset service's auto-label and audit
// figures with the trainer's model metrics.
import { GrpcCallError, Status } from '@labelloop/common';
import type { datasetV1 } from '@labelloop/proto';
import { z } from 'zod';
import type { AppDeps } from '../app.js';
import { decisionToJson } from '../clients/active-learning.mapping.js';
import { labelSourceEnum } from '../clients/dataset.mapping.js';
import {
  ActiveLearningReport,
  ReviewAnswerResults,
  ReviewTaskList,
  ScoringJobList,
  type ActiveLearningReportJson,
  type ModelVersionReportJson,
} from '../openapi/active-learning-schemas.js';
import { ActiveLearningSettingsBody, IdParams, ReviewAnswerBody, ReviewNextQuery } from '../openapi/requests.js';
import { Dataset, labelSources } from '../openapi/schemas.js';
import type { ModelJson } from '../openapi/training-schemas.js';
import { actorOf, defineRoute, type Route } from './route.js';

const ScoringJobsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20).meta({ description: 'Jobs to return, newest first.' }),
});

export function activeLearningRoutes({ dataset, trainer, logger }: AppDeps): Route[] {
  return [
    defineRoute({
      method: 'put',
      path: '/v1/datasets/{id}/active-learning',
      operationId: 'updateActiveLearningSettings',
      summary: 'Set how the dataset auto-labels and orders its review queue',
      description: 'Replaces the settings; omitted fields take their defaults. Applies from the next scoring.',
      tag: 'active learning',
      access: 'admin',
      params: IdParams,
      json: ActiveLearningSettingsBody,
      responses: { 200: { description: 'The dataset with its new settings', schema: Dataset } },
      handler: async ({ res, params, body, principal }) => {
        const updated = await dataset.updateActiveLearningSettings(params.id, body);
        logger.info({ datasetId: params.id, keyName: actorOf(principal), settings: updated.activeLearning }, 'active-learning settings changed');
        res.json(updated);
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/datasets/{id}/scoring-jobs',
      operationId: 'listScoringJobs',
      summary: 'Pool scoring by each promoted model: progress, threshold decision, auto-labels',
      tag: 'active learning',
      access: 'viewer',
      params: IdParams,
      query: ScoringJobsQuery,
      responses: { 200: { description: 'Newest first', schema: ScoringJobList } },
      handler: async ({ res, params, query }) => {
        res.json({ jobs: await dataset.listScoringJobs(params.id, query.limit) });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/datasets/{id}/review/next',
      operationId: 'leaseReviewTasks',
      summary: 'Lease the next images to label, most informative first',
      description:
        'Each task is leased to the caller for the dataset’s leaseSeconds: nobody else receives it until it is ' +
        'answered or the lease expires. Reasons: uncertain (ordered by the dataset’s strategy), audit (blind: no ' +
        'suggestions, no label) and suspected_label_error (shows the label in question).',
      tag: 'active learning',
      access: 'labeller',
      params: IdParams,
      query: ReviewNextQuery,
      responses: { 200: { description: 'The leased tasks (empty when the queue is empty)', schema: ReviewTaskList } },
      handler: async ({ res, params, query, principal }) => {
        res.json(await dataset.leaseReviewItems(params.id, actorOf(principal), query.limit));
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/datasets/{id}/review',
      operationId: 'answerReviewTasks',
      summary: 'Answer leased tasks: label, skip or not in classes',
      description:
        'Each answer is applied on its own: one refused (lease lost, not leased, unknown class) does not undo the ' +
        'others. Labels go through the label history as human labels.',
      tag: 'active learning',
      access: 'labeller',
      params: IdParams,
      json: ReviewAnswerBody,
      responses: { 200: { description: 'One result per answer, in order', schema: ReviewAnswerResults } },
      handler: async ({ res, params, body, principal }) => {
        res.json(await dataset.answerReviewItems(params.id, actorOf(principal), body.answers));
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/datasets/{id}/report',
      operationId: 'getActiveLearningReport',
      summary: 'Per model version: human labels, test accuracy, macro-F1, auto-label coverage, audited error',
      description:
        'The model metrics come from the trainer; while it is unavailable they are null and the rest is still answered.',
      tag: 'active learning',
      access: 'viewer',
      params: IdParams,
      responses: { 200: { description: 'The report', schema: ActiveLearningReport } },
      handler: async ({ res, params }) => {
        const [report, models] = await Promise.all([
          dataset.activeLearningReport(params.id),
          trainer.listModels(params.id).catch((err: unknown) => {
            if (err instanceof GrpcCallError && err.code === Status.UNAVAILABLE) {
              logger.warn({ datasetId: params.id }, 'report without model metrics: trainer unavailable');
              return undefined;
            }
            throw err;
          }),
        ]);
        res.json(joinReport(params.id, report, models));
      },
    }),
  ];
}

/** One row per model version known to either side, newest first. */
export function joinReport(
  datasetId: string,
  report: datasetV1.GetActiveLearningReportResponse,
  models: ModelJson[] | undefined,
): ActiveLearningReportJson {
  const scored = new Map(report.versions.map((v) => [v.modelVersion, v]));
  const byVersion = new Map((models ?? []).map((m) => [m.version, m]));
  const versions = [...new Set([...scored.keys(), ...byVersion.keys()])].sort((a, b) => b - a);
  const rows: ModelVersionReportJson[] = versions.map((version) => {
    const v = scored.get(version);
    const m = byVersion.get(version);
    const test = m?.metrics['test'];
    return {
      modelVersion: version,
      modelId: m?.id ?? null,
      status: m?.status ?? null,
      humanLabels: m ? m.snapshot.humanLabels : null,
      testAccuracy: test?.accuracy ?? null,
      testMacroF1: test?.macroF1 ?? null,
      poolItems: v?.poolItems ?? 0,
      autoLabelled: v?.autoLabelled ?? 0,
      autoLabelCoverage: v?.autoLabelCoverage ?? 0,
      audit: v?.audit
        ? {
            audited: v.audit.audited,
            errors: v.audit.errors,
            error: v.audit.error,
            lowerBound: v.audit.lowerBound,
            upperBound: v.audit.upperBound,
            verdict: v.audit.verdict === 'passed' || v.audit.verdict === 'failed' ? v.audit.verdict : 'pending',
          }
        : null,
      suspectedLabelErrors: v?.suspectedLabelErrors ?? 0,
      decision: v?.decision ? decisionToJson(v.decision) : null,
    };
  });
  const labels = Object.fromEntries(labelSources.map((s) => [s, 0])) as ActiveLearningReportJson['labels'];
  for (const { source, count } of report.labels) {
    const name = labelSourceEnum.json(source);
    if (name) labels[name] = count;
  }
  const queue = report.queue;
  return {
    datasetId,
    versions: rows,
    queue: {
      uncertain: queue?.uncertain ?? 0,
      audit: queue?.audit ?? 0,
      suspectedLabelError: queue?.suspectedLabelError ?? 0,
      leased: queue?.leased ?? 0,
    },
    labels,
    estimatedLabelsSaved: report.estimatedLabelsSaved,
  };
}
