import { GrpcCallError, Status, type GrpcClient } from '@labelloop/common';
import { datasetV1 } from '@labelloop/proto';
import type { ItemPrediction, ScoringKind, ScoringShard } from '../domain/types.js';
import { LeaseLostError, type ScoringProgress, type ScoringQueue } from '../domain/scoring-loop.js';
import type { AcquisitionStrategy } from '../domain/types.js';

// The dataset service's scoring RPCs in domain terms (proto ↔ domain stays here).

export type DatasetClient = GrpcClient<typeof datasetV1.DatasetServiceDefinition>;

const { AcquisitionStrategy: S, ScoringKind: K, ScoringStatus } = datasetV1;

const STRATEGIES = new Map<datasetV1.AcquisitionStrategy, AcquisitionStrategy>([
  [S.ACQUISITION_STRATEGY_RANDOM, 'random'],
  [S.ACQUISITION_STRATEGY_LEAST_CONFIDENCE, 'least_confidence'],
  [S.ACQUISITION_STRATEGY_MARGIN, 'margin'],
  [S.ACQUISITION_STRATEGY_ENTROPY, 'entropy'],
  [S.ACQUISITION_STRATEGY_BALD, 'bald'],
]);

const KINDS = new Map<datasetV1.ScoringKind, ScoringKind>([
  [K.SCORING_KIND_POOL, 'pool'],
  [K.SCORING_KIND_CALIBRATION, 'calibration'],
  [K.SCORING_KIND_LABELLED, 'labelled'],
]);

export function shardFromProto(s: datasetV1.ScoringShard): ScoringShard {
  return {
    id: s.id,
    jobId: s.jobId,
    model: { datasetId: s.datasetId, modelId: s.modelId, version: s.modelVersion, artifactPrefix: s.artifactPrefix },
    items: s.items.map((i) => ({ itemId: i.itemId, sha256: i.sha256, kind: KINDS.get(i.kind) ?? 'pool' })),
    // The dataset's default strategy is margin; an unset enum from an older server means the same.
    strategy: STRATEGIES.get(s.strategy) ?? 'margin',
    mcSamples: s.mcSamples,
    embeddings: s.embeddings,
    leaseExpiresAt: s.leaseExpiresAt,
  };
}

export function progressFromProto(job: datasetV1.ScoringJob | undefined): ScoringProgress {
  return {
    jobId: job?.id ?? '',
    status: job ? ScoringStatus[job.status] ?? String(job.status) : '',
    shardsDone: job?.shardsDone ?? 0,
    shardsTotal: job?.shardsTotal ?? 0,
    itemsScored: job?.itemsScored ?? 0,
    itemsTotal: job?.itemsTotal ?? 0,
  };
}

export function predictionToProto(p: ItemPrediction): datasetV1.ItemPrediction {
  return {
    itemId: p.itemId,
    probabilities: Array.from(p.probabilities),
    acquisitionScore: p.acquisitionScore,
    embedding: p.embedding ? Array.from(p.embedding) : [],
  };
}

export class DatasetScoringQueue implements ScoringQueue {
  constructor(private readonly client: DatasetClient) {}

  async claim(worker: string, leaseSeconds: number, signal?: AbortSignal): Promise<ScoringShard | undefined> {
    const { shard } = await this.client.claimScoringShard({ datasetId: '', worker, leaseSeconds }, { signal });
    return shard ? shardFromProto(shard) : undefined;
  }

  async record(shardId: string, worker: string, predictions: ItemPrediction[]): Promise<{ recorded: boolean; progress: ScoringProgress }> {
    try {
      const { job, recorded } = await this.client.recordPredictions(
        { shardId, worker, predictions: predictions.map(predictionToProto) },
        // Predictions of a large shard with embeddings take a while to store.
        { timeoutMs: 120_000 },
      );
      return { recorded, progress: progressFromProto(job) };
    } catch (err) {
      if (err instanceof GrpcCallError && err.code === Status.FAILED_PRECONDITION && err.details?.code === 'lease_lost') throw new LeaseLostError(err.message);
      throw err;
    }
  }

  /** Starts (or finds) the scoring job of a model version. */
  async beginScoring(ref: { datasetId: string; modelId: string; version: number; artifactPrefix: string }, shardSize: number): Promise<{ created: boolean; progress: ScoringProgress }> {
    const { job, created } = await this.client.beginScoring(
      { datasetId: ref.datasetId, modelId: ref.modelId, modelVersion: ref.version, artifactPrefix: ref.artifactPrefix, shardSize },
      // Freezing a large dataset into shards takes a while; the event's ack is kept alive meanwhile.
      { timeoutMs: 120_000 },
    );
    return { created, progress: progressFromProto(job) };
  }
}
