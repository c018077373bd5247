// The review queue's figures for the report and the gauges: open tasks, audits per model version,
// labels by source, finished scorings. Reads only.
import type { Database } from '@labelloop/storage';
import type { ReviewReportSource } from '../domain/review/review-service.js';
import { REVIEW_REASONS, type AuditCounts, type QueueDepth, type ReviewReason } from '../domain/review/types.js';
import type { AutoLabelDecision } from '../domain/scoring/types.js';
import type { LabelSource } from '../domain/types.js';
import { SERVABLE } from './review-repository.js';

export class ReviewReportRepository implements ReviewReportSource {
  constructor(private readonly db: Database) {}

  /** Open tasks by reason (those still worth serving), and how many of them are under a live lease. */
  async queueDepth(datasetId: string): Promise<QueueDepth> {
    const { rows } = await this.db.query<{ reason: ReviewReason; n: number; leased: number }>(
      `SELECT reason, count(*) AS n, count(*) FILTER (WHERE leased_by IS NOT NULL AND lease_expires_at > now()) AS leased
         FROM dataset.review_tasks t WHERE dataset_id = $1 AND ${SERVABLE} GROUP BY reason`,
      [datasetId],
    );
    const depth: QueueDepth = { uncertain: 0, audit: 0, suspectedLabelError: 0, leased: 0 };
    for (const row of rows) {
      if (row.reason === 'uncertain') depth.uncertain = row.n;
      if (row.reason === 'audit') depth.audit = row.n;
      if (row.reason === 'suspected_label_error') depth.suspectedLabelError = row.n;
      depth.leased += row.leased;
    }
    return depth;
  }

  /** Audit counts of every model version of the dataset. */
  async auditCountsByVersion(datasetId: string): Promise<Map<number, AuditCounts>> {
    const { rows } = await this.db.query<AuditCounts & { model_version: number }>(
      `SELECT model_version, count(*) AS audited, count(*) FILTER (WHERE NOT correct) AS errors
         FROM dataset.audit_results WHERE dataset_id = $1 GROUP BY model_version`,
      [datasetId],
    );
    return new Map(rows.map((row) => [row.model_version, { audited: row.audited, errors: row.errors }]));
  }

  /** Current labels by source (excluded items have none). */
  async labelCounts(datasetId: string): Promise<Record<LabelSource, number>> {
    const { rows } = await this.db.query<{ source: LabelSource; n: number }>(
      `SELECT label_source AS source, count(*) AS n FROM dataset.items
        WHERE dataset_id = $1 AND label_source IS NOT NULL GROUP BY label_source`,
      [datasetId],
    );
    const counts: Record<LabelSource, number> = { human: 0, model: 0, import: 0 };
    for (const row of rows) counts[row.source] = row.n;
    return counts;
  }

  /** Successful scoring jobs' decisions (jsonb as the scoring code wrote it), newest version first. */
  async scoredVersions(datasetId: string): Promise<Array<{ modelVersion: number; decision: AutoLabelDecision | null }>> {
    const { rows } = await this.db.query<{ model_version: number; decision: AutoLabelDecision | null }>(
      `SELECT model_version, decision FROM dataset.scoring_jobs
        WHERE dataset_id = $1 AND status = 'SUCCEEDED' ORDER BY model_version DESC`,
      [datasetId],
    );
    return rows.map((row) => ({ modelVersion: row.model_version, decision: row.decision }));
  }

  /** For the metrics: open tasks per dataset and reason. */
  async queueDepthsOfAllDatasets(): Promise<Array<{ datasetId: string; reason: ReviewReason; n: number }>> {
    // Every dataset and reason, so a queue that emptied reads 0 rather than vanishing.
    const { rows } = await this.db.query<{ dataset_id: string; reason: ReviewReason; n: number }>(
      `SELECT d.id AS dataset_id, r.reason, count(t.id) AS n
         FROM dataset.datasets d
        CROSS JOIN unnest($1::text[]) AS r (reason)
         LEFT JOIN dataset.review_tasks t ON t.dataset_id = d.id AND t.reason = r.reason AND ${SERVABLE}
        WHERE d.deleted_at IS NULL
        GROUP BY d.id, r.reason`,
      [[...REVIEW_REASONS]],
    );
    return rows.map((row) => ({ datasetId: row.dataset_id, reason: row.reason, n: row.n }));
  }

  /** Live datasets with at least one finished scoring (the labels-saved gauge reports these). */
  async datasetsWithScorings(): Promise<string[]> {
    const { rows } = await this.db.query<{ dataset_id: string }>(
      `SELECT DISTINCT j.dataset_id FROM dataset.scoring_jobs j JOIN dataset.datasets d ON d.id = j.dataset_id
        WHERE j.status = 'SUCCEEDED' AND d.deleted_at IS NULL`,
    );
    return rows.map((row) => row.dataset_id);
  }

  /** For the metrics: audit counts per dataset and model version, with the dataset's ε and confidence. */
  async auditsOfAllDatasets(): Promise<
    Array<AuditCounts & { datasetId: string; modelVersion: number; targetError: number; confidence: number }>
  > {
    const { rows } = await this.db.query<
      AuditCounts & { dataset_id: string; model_version: number; al_target_error: number; al_confidence: number }
    >(
      `SELECT a.dataset_id, a.model_version, count(*) AS audited, count(*) FILTER (WHERE NOT a.correct) AS errors,
              d.al_target_error, d.al_confidence
         FROM dataset.audit_results a JOIN dataset.datasets d ON d.id = a.dataset_id
        WHERE d.deleted_at IS NULL
        GROUP BY a.dataset_id, a.model_version, d.al_target_error, d.al_confidence`,
    );
    return rows.map((row) => ({
      datasetId: row.dataset_id,
      modelVersion: row.model_version,
      audited: row.audited,
      errors: row.errors,
      targetError: row.al_target_error,
      confidence: row.al_confidence,
    }));
  }
}
