import type { SearchState } from '@labelloop/ml';
import type { Queryable } from '@labelloop/storage';
import type { HyperParameters } from '../domain/types.js';

// SQL for training.trials and the search state on training.runs. Every function takes the
// Queryable to run on (db or a transaction).

export type TrialStatus = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';

export interface TrialRow {
  runId: string;
  trialId: string;
  params: HyperParameters;
  budget: number;
  seed: number;
  rung: number;
  status: TrialStatus;
  validationMacroF1: number | null;
  validationAccuracy: number | null;
  failureReason: string;
  attempts: number;
}

interface Row {
  run_id: string;
  trial_id: string;
  params: HyperParameters;
  budget: number;
  seed: number;
  rung: number;
  status: TrialStatus;
  validation_macro_f1: number | null;
  validation_accuracy: number | null;
  failure_reason: string;
  attempts: number;
}

function toTrial(r: Row): TrialRow {
  return {
    runId: r.run_id,
    trialId: r.trial_id,
    params: r.params,
    budget: r.budget,
    seed: Number(r.seed),
    rung: r.rung,
    status: r.status,
    validationMacroF1: r.validation_macro_f1 === null ? null : Number(r.validation_macro_f1),
    validationAccuracy: r.validation_accuracy === null ? null : Number(r.validation_accuracy),
    failureReason: r.failure_reason,
    attempts: r.attempts,
  };
}

export async function insertTrial(q: Queryable, t: Pick<TrialRow, 'runId' | 'trialId' | 'params' | 'budget' | 'seed' | 'rung'>): Promise<void> {
  await q.query(
    `INSERT INTO training.trials (run_id, trial_id, params, budget, seed, rung, status) VALUES ($1, $2, $3, $4, $5, $6, 'QUEUED')`,
    [t.runId, t.trialId, JSON.stringify(t.params), t.budget, t.seed, t.rung],
  );
}

export async function listTrials(q: Queryable, runId: string): Promise<TrialRow[]> {
  const { rows } = await q.query<Row>('SELECT * FROM training.trials WHERE run_id = $1 ORDER BY created_at, trial_id', [runId]);
  return rows.map(toTrial);
}

/** QUEUED/RUNNING → RUNNING with one more attempt; undefined when the trial is over. */
export async function markTrialRunning(q: Queryable, runId: string, trialId: string): Promise<TrialRow | undefined> {
  const { rows } = await q.query<Row>(
    `UPDATE training.trials SET status = 'RUNNING', attempts = attempts + 1
     WHERE run_id = $1 AND trial_id = $2 AND status IN ('QUEUED', 'RUNNING') RETURNING *`,
    [runId, trialId],
  );
  return rows[0] ? toTrial(rows[0]) : undefined;
}

/** A handed-back or retried trial waits in the queue again. */
export async function requeueTrialRow(q: Queryable, runId: string, trialId: string): Promise<void> {
  await q.query(`UPDATE training.trials SET status = 'QUEUED' WHERE run_id = $1 AND trial_id = $2 AND status = 'RUNNING'`, [runId, trialId]);
}

/** Ends an active trial; false when it was already over (a redelivered result is ignored). */
export async function finishTrial(
  q: Queryable,
  runId: string,
  trialId: string,
  to: 'SUCCEEDED' | 'FAILED',
  fields: { macroF1?: number; accuracy?: number; failureReason?: string },
): Promise<boolean> {
  const { rowCount } = await q.query(
    `UPDATE training.trials SET status = $3, finished_at = now(), validation_macro_f1 = $4, validation_accuracy = $5, failure_reason = $6
     WHERE run_id = $1 AND trial_id = $2 AND status IN ('QUEUED', 'RUNNING')`,
    [runId, trialId, to, fields.macroF1 ?? null, fields.accuracy ?? null, fields.failureReason ?? ''],
  );
  return rowCount > 0;
}

/** Cancelling a run cancels the trials that have not finished. */
export async function cancelTrials(q: Queryable, runId: string): Promise<void> {
  await q.query(`UPDATE training.trials SET status = 'CANCELLED', finished_at = now() WHERE run_id = $1 AND status IN ('QUEUED', 'RUNNING')`, [runId]);
}

/** The run's search state, its row locked until the transaction ends (one writer at a time). */
export async function lockSearchState(q: Queryable, runId: string): Promise<SearchState | undefined> {
  const { rows } = await q.query<{ search_state: SearchState | null }>('SELECT search_state FROM training.runs WHERE id = $1 FOR UPDATE', [runId]);
  return rows[0]?.search_state ?? undefined;
}

export async function saveSearchState(q: Queryable, runId: string, state: SearchState): Promise<void> {
  await q.query('UPDATE training.runs SET search_state = $2 WHERE id = $1', [runId, JSON.stringify(state)]);
}

/** A trial of an active run starts: the run is RUNNING from its first trial on. */
export async function markSearchRunning(q: Queryable, runId: string): Promise<boolean> {
  const { rowCount } = await q.query(
    `UPDATE training.runs SET status = 'RUNNING', started_at = coalesce(started_at, now()) WHERE id = $1 AND status IN ('QUEUED', 'RUNNING')`,
    [runId],
  );
  return rowCount > 0;
}

/** The search is over: the final model trains with the best trial's hyper-parameters. */
export async function setFinalHyperParameters(q: Queryable, runId: string, hp: HyperParameters): Promise<void> {
  await q.query('UPDATE training.runs SET hyper_parameters = $2 WHERE id = $1', [runId, JSON.stringify(hp)]);
}

/** Merges fields into the stored progress (trial counters), whatever the run's status. */
export async function mergeProgress(q: Queryable, runId: string, fields: Record<string, unknown>): Promise<void> {
  await q.query(`UPDATE training.runs SET progress = progress || $2::jsonb WHERE id = $1`, [runId, JSON.stringify(fields)]);
}
