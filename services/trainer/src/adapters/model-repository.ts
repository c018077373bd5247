import type { Queryable } from '@labelloop/storage';
import type { Model, ModelStatus } from '../domain/types.js';

// SQL for training.models.

interface ModelRow {
  id: string;
  dataset_id: string;
  version: number;
  run_id: string;
  status: ModelStatus;
  architecture: string;
  classes: string[];
  hyper_parameters: Model['hyperParameters'];
  temperature: number;
  metrics: Model['metrics'];
  snapshot_key: string;
  snapshot_created_at: Date;
  artifact_prefix: string;
  new_items: number;
  replayed_items: number;
  human_labels: number;
  promotion_decision: string;
  backend: string;
  created_at: Date;
  promoted_at: Date | null;
  previous_champion_id: string | null;
}

function toModel(r: ModelRow): Model {
  return {
    id: r.id,
    datasetId: r.dataset_id,
    version: r.version,
    runId: r.run_id,
    status: r.status,
    architecture: r.architecture,
    classes: r.classes,
    hyperParameters: r.hyper_parameters,
    temperature: r.temperature,
    metrics: r.metrics,
    snapshotKey: r.snapshot_key,
    snapshotCreatedAt: r.snapshot_created_at,
    artifactPrefix: r.artifact_prefix,
    newItems: r.new_items,
    replayedItems: r.replayed_items,
    humanLabels: r.human_labels,
    promotionDecision: r.promotion_decision,
    backend: r.backend,
    createdAt: r.created_at,
    promotedAt: r.promoted_at,
    previousChampionId: r.previous_champion_id,
  };
}

export async function nextVersion(q: Queryable, datasetId: string): Promise<number> {
  const { rows } = await q.query<{ v: number }>('SELECT coalesce(max(version), 0)::int + 1 AS v FROM training.models WHERE dataset_id = $1', [datasetId]);
  return Number(rows[0]!.v);
}

export async function insertModel(q: Queryable, m: Omit<Model, 'createdAt' | 'promotedAt' | 'previousChampionId'>): Promise<Model> {
  const { rows } = await q.query<ModelRow>(
    `INSERT INTO training.models (id, dataset_id, version, run_id, status, architecture, classes, hyper_parameters, temperature,
       metrics, snapshot_key, snapshot_created_at, artifact_prefix, new_items, replayed_items, promotion_decision, backend, human_labels)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) RETURNING *`,
    [m.id, m.datasetId, m.version, m.runId, m.status, m.architecture, m.classes, JSON.stringify(m.hyperParameters), m.temperature,
      JSON.stringify(m.metrics), m.snapshotKey, m.snapshotCreatedAt, m.artifactPrefix, m.newItems, m.replayedItems, m.promotionDecision, m.backend, m.humanLabels],
  );
  return toModel(rows[0]!);
}

export async function getModel(q: Queryable, id: string): Promise<Model | undefined> {
  const { rows } = await q.query<ModelRow>('SELECT * FROM training.models WHERE id = $1', [id]);
  return rows[0] ? toModel(rows[0]) : undefined;
}

export async function getChampion(q: Queryable, datasetId: string): Promise<Model | undefined> {
  const { rows } = await q.query<ModelRow>(`SELECT * FROM training.models WHERE dataset_id = $1 AND status = 'CHAMPION'`, [datasetId]);
  return rows[0] ? toModel(rows[0]) : undefined;
}

/** Newest version first. */
export async function listModels(q: Queryable, datasetId: string | undefined): Promise<Model[]> {
  const { rows } = await q.query<ModelRow>(
    'SELECT * FROM training.models WHERE ($1::uuid IS NULL OR dataset_id = $1) ORDER BY dataset_id, version DESC',
    [datasetId ?? null],
  );
  return rows.map(toModel);
}

/**
 * Makes `modelId` the champion: the old one (if any) RETIRED first (one champion per dataset
 * is a unique index). Records the replaced champion for rollback unless `rememberPrevious` is false.
 */
export async function makeChampion(q: Queryable, model: Model, previous: Model | undefined, rememberPrevious = true): Promise<Model> {
  if (previous) await q.query(`UPDATE training.models SET status = 'RETIRED' WHERE id = $1`, [previous.id]);
  const { rows } = await q.query<ModelRow>(
    `UPDATE training.models SET status = 'CHAMPION', promoted_at = now(),
       previous_champion_id = CASE WHEN $3 THEN $2::uuid ELSE previous_champion_id END WHERE id = $1 RETURNING *`,
    [model.id, previous?.id ?? null, rememberPrevious],
  );
  return toModel(rows[0]!);
}

export async function setDecision(q: Queryable, id: string, decision: string): Promise<void> {
  await q.query('UPDATE training.models SET promotion_decision = $2 WHERE id = $1', [id, decision]);
}
