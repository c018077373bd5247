// Scoring job rows: the columns read back and their mapping to ScoringJob.
import type { Queryable } from '@labelloop/storage';
import type { AutoLabelDecision, ScoringJob, ScoringStatus } from '../domain/scoring/types.js';

export interface JobRow {
  id: string;
  dataset_id: string;
  model_id: string;
  model_version: number;
  artifact_prefix: string;
  status: ScoringStatus;
  shards_total: number;
  shards_done: number;
  items_total: number;
  items_scored: number;
  failure_reason: string;
  decision: AutoLabelDecision | null;
  effective_target_error: number | null;
  created_at: Date;
  finished_at: Date | null;
}

export const JOB_COLUMNS =
  'id, dataset_id, model_id, model_version, artifact_prefix, status, shards_total, shards_done, items_total, ' +
  'items_scored, failure_reason, decision, effective_target_error, created_at, finished_at';

export function jobFromRow(row: JobRow): ScoringJob {
  return {
    id: row.id,
    datasetId: row.dataset_id,
    modelId: row.model_id,
    modelVersion: row.model_version,
    artifactPrefix: row.artifact_prefix,
    status: row.status,
    shardsTotal: row.shards_total,
    shardsDone: row.shards_done,
    itemsTotal: row.items_total,
    itemsScored: row.items_scored,
    failureReason: row.failure_reason,
    decision: row.decision,
    effectiveTargetError: row.effective_target_error,
    createdAt: row.created_at,
    finishedAt: row.finished_at,
  };
}

export async function selectJob(q: Queryable, jobId: string): Promise<JobRow | undefined> {
  const { rows } = await q.query<JobRow>(`SELECT ${JOB_COLUMNS} FROM dataset.scoring_jobs WHERE id = $1`, [jobId]);
  return rows[0];
}
