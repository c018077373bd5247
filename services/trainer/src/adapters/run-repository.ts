import type { Queryable } from '@labelloop/storage';
import type { RunProgress, RunStatus, TrainingRun } from '../domain/types.js';

// SQL for training.runs. Every function takes the Queryable to run on (db or a transaction).

export const SCHEMA = 'training';

interface RunRow {
  id: string;
  seq: number;
  dataset_id: string;
  status: RunStatus;
  trigger: TrainingRun['trigger'];
  requested_by: string;
  hyper_parameters: TrainingRun['hyperParameters'];
  search: TrainingRun['search'];
  seed: number;
  progress: Partial<RunProgress>;
  failure_reason: string;
  model_id: string | null;
  attempts: number;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

function toRun(r: RunRow): TrainingRun {
  return {
    id: r.id,
    datasetId: r.dataset_id,
    status: r.status,
    trigger: r.trigger,
    requestedBy: r.requested_by,
    hyperParameters: r.hyper_parameters,
    search: r.search,
    seed: Number(r.seed),
    progress: r.progress,
    failureReason: r.failure_reason,
    modelId: r.model_id,
    attempts: r.attempts,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}

export async function insertRun(q: Queryable, run: Omit<TrainingRun, 'createdAt' | 'startedAt' | 'finishedAt' | 'attempts' | 'progress' | 'failureReason' | 'modelId' | 'status'>): Promise<TrainingRun> {
  const { rows } = await q.query<RunRow>(
    `INSERT INTO training.runs (id, dataset_id, status, trigger, requested_by, hyper_parameters, search, seed)
     VALUES ($1, $2, 'QUEUED', $3, $4, $5, $6, $7) RETURNING *`,
    [run.id, run.datasetId, run.trigger, run.requestedBy, JSON.stringify(run.hyperParameters), JSON.stringify(run.search), run.seed],
  );
  return toRun(rows[0]!);
}

export async function getRun(q: Queryable, id: string): Promise<TrainingRun | undefined> {
  const { rows } = await q.query<RunRow>('SELECT * FROM training.runs WHERE id = $1', [id]);
  return rows[0] ? toRun(rows[0]) : undefined;
}

/** Newest first; `beforeSeq` is the keyset cursor. Returns the rows and the last row's seq. */
export async function listRuns(q: Queryable, datasetId: string | undefined, limit: number, beforeSeq: number | undefined): Promise<{ runs: TrainingRun[]; lastSeq: number | undefined }> {
  const { rows } = await q.query<RunRow>(
    `SELECT * FROM training.runs WHERE ($1::uuid IS NULL OR dataset_id = $1) AND ($2::bigint IS NULL OR seq < $2)
     ORDER BY seq DESC LIMIT $3`,
    [datasetId ?? null, beforeSeq ?? null, limit],
  );
  return { runs: rows.map(toRun), lastSeq: rows.length ? Number(rows[rows.length - 1]!.seq) : undefined };
}

/**
 * The stored trial counters of a search (written only when a trial result is recorded), so
 * progress from a job, which does not know them, never overwrites them.
 */
const KEEP_SEARCH_COUNTERS = `jsonb_strip_nulls(jsonb_build_object('trialsDone', progress->'trialsDone', 'trialsTotal', progress->'trialsTotal'))`;

export async function hasActiveRun(q: Queryable, datasetId: string): Promise<boolean> {
  const { rows } = await q.query(`SELECT 1 FROM training.runs WHERE dataset_id = $1 AND status IN ('QUEUED', 'RUNNING') LIMIT 1`, [datasetId]);
  return rows.length > 0;
}

/**
 * QUEUED/RUNNING → RUNNING with one more attempt and fresh progress (a resumed attempt reports
 * from its checkpoint's epoch on); undefined when the run is already over.
 */
export async function markRunning(q: Queryable, id: string): Promise<TrainingRun | undefined> {
  const { rows } = await q.query<RunRow>(
    `UPDATE training.runs SET status = 'RUNNING', attempts = attempts + 1, progress = ${KEEP_SEARCH_COUNTERS}, started_at = coalesce(started_at, now())
     WHERE id = $1 AND status IN ('QUEUED', 'RUNNING') RETURNING *`,
    [id],
  );
  return rows[0] ? toRun(rows[0]) : undefined;
}

/** Stores progress while RUNNING; false when the run is no longer running (cancelled elsewhere). */
export async function saveProgress(q: Queryable, id: string, progress: Partial<RunProgress>): Promise<boolean> {
  const { rowCount } = await q.query(
    `UPDATE training.runs SET progress = $2::jsonb || ${KEEP_SEARCH_COUNTERS} WHERE id = $1 AND status = 'RUNNING'`,
    [id, JSON.stringify(progress)],
  );
  return rowCount > 0;
}

/** Moves an active run to `to`; undefined when it was not active. */
export async function finishRun(q: Queryable, id: string, to: 'SUCCEEDED' | 'FAILED' | 'CANCELLED', fields: { failureReason?: string; modelId?: string } = {}): Promise<TrainingRun | undefined> {
  const { rows } = await q.query<RunRow>(
    `UPDATE training.runs SET status = $2, finished_at = now(), failure_reason = coalesce($3, failure_reason), model_id = coalesce($4::uuid, model_id)
     WHERE id = $1 AND status IN ('QUEUED', 'RUNNING') RETURNING *`,
    [id, to, fields.failureReason ?? null, fields.modelId ?? null],
  );
  return rows[0] ? toRun(rows[0]) : undefined;
}

/** A handed-back run waits in the queue again. */
export async function requeueRun(q: Queryable, id: string): Promise<void> {
  await q.query(`UPDATE training.runs SET status = 'QUEUED' WHERE id = $1 AND status = 'RUNNING'`, [id]);
}
