import type { Queryable } from '@labelloop/storage';
import { defaultPolicy } from '../domain/defaults.js';
import type { RetrainPolicy } from '../domain/types.js';

// SQL for training.retrain_policies and the human-label counters.

export async function getPolicy(q: Queryable, datasetId: string): Promise<RetrainPolicy> {
  const { rows } = await q.query<{ every_human_labels: number; replay_ratio: number; promotion_tolerance: number; max_recall_drop: number }>(
    'SELECT * FROM training.retrain_policies WHERE dataset_id = $1',
    [datasetId],
  );
  const r = rows[0];
  if (!r) return defaultPolicy(datasetId);
  return { datasetId, everyHumanLabels: r.every_human_labels, replayRatio: r.replay_ratio, promotionTolerance: r.promotion_tolerance, maxRecallDrop: r.max_recall_drop };
}

export async function putPolicy(q: Queryable, p: RetrainPolicy): Promise<void> {
  await q.query(
    `INSERT INTO training.retrain_policies (dataset_id, every_human_labels, replay_ratio, promotion_tolerance, max_recall_drop)
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (dataset_id) DO UPDATE SET every_human_labels = $2, replay_ratio = $3,
       promotion_tolerance = $4, max_recall_drop = $5`,
    [p.datasetId, p.everyHumanLabels, p.replayRatio, p.promotionTolerance, p.maxRecallDrop],
  );
}

/** Adds one human label; returns the new count. */
export async function countHumanLabel(q: Queryable, datasetId: string): Promise<number> {
  const { rows } = await q.query<{ count: number }>(
    `INSERT INTO training.human_label_counters (dataset_id, count) VALUES ($1, 1)
     ON CONFLICT (dataset_id) DO UPDATE SET count = human_label_counters.count + 1 RETURNING count`,
    [datasetId],
  );
  return rows[0]!.count;
}

export async function resetHumanLabels(q: Queryable, datasetId: string): Promise<void> {
  await q.query('UPDATE training.human_label_counters SET count = 0 WHERE dataset_id = $1', [datasetId]);
}
