import { auditVerdict } from '@labelloop/active-learning';
import type { Logger } from '@labelloop/common';
import type { AutoLabelDecision } from '../scoring/types.js';
import type { Dataset, Item, LabelSource } from '../types.js';
import type { AuditOutcome } from './answer-rules.js';
import { buildReport, summarizeAudit, type ActiveLearningReport } from './report.js';
import { blindItem, parseLeaseLimit, topSuggestions, validateActor, validateAnswerBatch } from './review-rules.js';
import type { AnswerResult, AuditCounts, LeaseResult, QueueDepth, ReviewAnswer, ReviewReason } from './types.js';

// The review queue's use cases: lease tasks, answer them, react to failed audits, report.

/** What the store hands back for a leased task (adapters/review-repository.ts). */
export interface StoredLease {
  item: Item;
  reason: ReviewReason;
  modelVersion: number;
  subjectLabel: string | null;
  leaseExpiresAt: Date;
  probabilities: number[] | null;
}

export interface ReviewStore {
  lease(
    dataset: Dataset,
    actor: string,
    limit: number,
    leaseSeconds: number,
  ): Promise<{ tasks: StoredLease[]; remaining: number }>;
  answer(datasetId: string, actor: string, answer: ReviewAnswer): Promise<{ result: AnswerResult; audit?: AuditOutcome }>;
  auditCounts(datasetId: string, modelVersion: number): Promise<AuditCounts>;
  recordFailedAudit(input: {
    datasetId: string;
    modelVersion: number;
    counts: AuditCounts;
    upperBound: number;
    actor: string;
  }): Promise<{ firstTime: boolean; revokedLabels: number; errorScale: number }>;
  latestScoredVersion(datasetId: string): Promise<number | undefined>;
}

/** The figures the report and the gauges read (adapters/review-report-repository.ts). */
export interface ReviewReportSource {
  queueDepth(datasetId: string): Promise<QueueDepth>;
  auditCountsByVersion(datasetId: string): Promise<Map<number, AuditCounts>>;
  labelCounts(datasetId: string): Promise<Record<LabelSource, number>>;
  scoredVersions(datasetId: string): Promise<Array<{ modelVersion: number; decision: AutoLabelDecision | null }>>;
  queueDepthsOfAllDatasets(): Promise<Array<{ datasetId: string; reason: ReviewReason; n: number }>>;
  datasetsWithScorings(): Promise<string[]>;
  auditsOfAllDatasets(): Promise<
    Array<AuditCounts & { datasetId: string; modelVersion: number; targetError: number; confidence: number }>
  >;
}

/** The review gauges' values across datasets (read when /metrics is scraped). */
export interface ReviewGaugeValues {
  queue: Array<{ datasetId: string; reason: ReviewReason; n: number }>;
  audits: Array<{ datasetId: string; modelVersion: number; estimate: number; lower: number; upper: number }>;
  saved: Array<{ datasetId: string; n: number }>;
}

export interface ReviewServiceDeps {
  store: ReviewStore;
  reports: ReviewReportSource;
  datasets: { get(id: string): Promise<Dataset> };
  /**
   * Finalizes the dataset's latest scoring job again (its threshold then uses the halved error
   * scale). Called after an audit of that job's model version failed.
   */
  refinalizeLatest(datasetId: string): Promise<unknown>;
  logger: Logger;
}

export interface AuditFailure {
  modelVersion: number;
  revokedLabels: number;
  errorScale: number;
  /** The latest scoring job is being finalized again (it is this version's). */
  refinalizing: boolean;
}

export class ReviewService {
  constructor(private readonly deps: ReviewServiceDeps) {}

  async lease(datasetId: string, actor: string, limit: number): Promise<LeaseResult> {
    validateActor(actor);
    const count = parseLeaseLimit(limit);
    const dataset = await this.deps.datasets.get(datasetId);
    const { tasks, remaining } = await this.deps.store.lease(
      dataset,
      actor,
      count,
      dataset.activeLearning.leaseSeconds,
    );
    return {
      remaining,
      tasks: tasks.map((task) => {
        const audit = task.reason === 'audit';
        return {
          item: audit ? blindItem(task.item) : task.item,
          reason: task.reason,
          suggestions: audit || !task.probabilities ? [] : topSuggestions(dataset.classes, task.probabilities),
          modelVersion: task.modelVersion,
          leaseExpiresAt: task.leaseExpiresAt,
          currentLabel:
            task.reason === 'suspected_label_error' ? (task.item.label?.value ?? task.subjectLabel) : null,
        };
      }),
    };
  }

  /**
   * Applies the answers, each in its own transaction (a refused answer leaves the others alone),
   * then judges the audits of every model version an answer scored.
   */
  async answer(
    datasetId: string,
    actor: string,
    answers: readonly ReviewAnswer[],
  ): Promise<{ results: AnswerResult[]; auditFailures: AuditFailure[] }> {
    validateActor(actor);
    validateAnswerBatch(answers);
    const dataset = await this.deps.datasets.get(datasetId);
    const results: AnswerResult[] = new Array(answers.length);
    const audited = new Set<number>();
    // Answers for different items are independent transactions: they run side by side (a batch of
    // ten no longer costs ten transactions end to end). Answers for the same item keep their order.
    const byItem = new Map<string, number[]>();
    answers.forEach((answer, index) => byItem.set(answer.itemId, [...(byItem.get(answer.itemId) ?? []), index]));
    const settled = await Promise.allSettled(
      [...byItem.values()].map(async (indices) => {
        for (const index of indices) {
          const { result, audit } = await this.deps.store.answer(dataset.id, actor, answers[index]!);
          results[index] = result;
          if (audit) audited.add(audit.modelVersion);
        }
      }),
    );
    // A failure (database gone) fails the call, but only once every transaction has ended.
    const failed = settled.find((outcome) => outcome.status === 'rejected');
    if (failed) throw failed.reason;
    const auditFailures: AuditFailure[] = [];
    for (const version of audited) {
      const failure = await this.judgeAudits(dataset.id, version);
      if (failure) auditFailures.push(failure);
    }
    return { results, auditFailures };
  }

  /**
   * Judges a model version's audits against the dataset's ε at 1 − δ. The first 'failed' verdict
   * revokes the version's remaining auto-labels into the queue and halves the error scale (the
   * store makes that happen once per version); if the version is the latest scoring, that scoring is
   * finalized again in the background so tighter thresholds apply at once (a crash before it runs
   * leaves the job SUCCEEDED with its old decision until the next scoring). Undefined unless this call handled a failure.
   */
  async judgeAudits(datasetId: string, modelVersion: number): Promise<AuditFailure | undefined> {
    const dataset = await this.deps.datasets.get(datasetId);
    const { targetError, confidence } = dataset.activeLearning;
    const counts = await this.deps.store.auditCounts(dataset.id, modelVersion);
    const verdict = auditVerdict(counts.audited, counts.errors, { targetError, confidence });
    if (verdict.verdict !== 'failed') return undefined;
    const handled = await this.deps.store.recordFailedAudit({
      datasetId: dataset.id,
      modelVersion,
      counts,
      upperBound: verdict.upper,
      actor: `audit:v${modelVersion}`,
    });
    if (!handled.firstTime) return undefined;
    this.deps.logger.warn(
      { datasetId, modelVersion, ...counts, upper: verdict.upper, targetError, revoked: handled.revokedLabels },
      'audit failed: auto-labels of this model version went back to review',
    );
    const latest = await this.deps.store.latestScoredVersion(dataset.id);
    const refinalize = latest === modelVersion;
    if (refinalize) {
      // In the background: a whole pool's labels may change, and the reviewer's answer is already in.
      this.deps.refinalizeLatest(dataset.id).catch((err: unknown) =>
        this.deps.logger.error({ err, datasetId, modelVersion }, 're-finalizing after a failed audit failed'),
      );
    }
    return { modelVersion, revokedLabels: handled.revokedLabels, errorScale: handled.errorScale, refinalizing: refinalize };
  }

  async gaugeValues(): Promise<ReviewGaugeValues> {
    const { reports } = this.deps;
    const queue = await reports.queueDepthsOfAllDatasets();
    const audits = (await reports.auditsOfAllDatasets()).map((row) => {
      const summary = summarizeAudit(row.modelVersion, row, row);
      return {
        datasetId: row.datasetId,
        modelVersion: row.modelVersion,
        estimate: summary.error,
        lower: summary.lower,
        upper: summary.upper,
      };
    });
    const saved: Array<{ datasetId: string; n: number }> = [];
    for (const datasetId of await reports.datasetsWithScorings()) {
      saved.push({ datasetId, n: (await this.report(datasetId)).estimatedLabelsSaved });
    }
    return { queue, audits, saved };
  }

  async report(datasetId: string): Promise<ActiveLearningReport> {
    const dataset = await this.deps.datasets.get(datasetId);
    const { reports } = this.deps;
    const scorings = await reports.scoredVersions(dataset.id);
    const audits = await reports.auditCountsByVersion(dataset.id);
    const queue = await reports.queueDepth(dataset.id);
    const labels = await reports.labelCounts(dataset.id);
    return buildReport({
      targetError: dataset.activeLearning.targetError,
      confidence: dataset.activeLearning.confidence,
      scorings,
      audits,
      queue,
      labels,
    });
  }
}
