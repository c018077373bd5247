import { datasetV1 } from '@labelloop/proto';
import type { ScoringService } from '../domain/scoring/scoring-service.js';
import type { AutoLabelDecision, ClaimedShard, ScoringJob } from '../domain/scoring/types.js';
import { parseLimit } from '../domain/paging.js';
import { scoringKindToProto, scoringStatusToProto, strategyToProto } from './enums.js';

// The scoring RPCs of labelloop.dataset.v1.DatasetService (spread into createDatasetHandlers).

type ScoringHandlers = Pick<
  datasetV1.DatasetServiceImplementation,
  'beginScoring' | 'claimScoringShard' | 'recordPredictions' | 'getScoringJob' | 'listScoringJobs'
>;

export const DEFAULT_JOB_LIST_LIMIT = 20;

export function createScoringHandlers(scoring: ScoringService): ScoringHandlers {
  return {
    async beginScoring(request) {
      const { job, created } = await scoring.begin({
        datasetId: request.datasetId,
        modelId: request.modelId,
        modelVersion: request.modelVersion,
        artifactPrefix: request.artifactPrefix,
        shardSize: request.shardSize,
      });
      return { job: scoringJobToProto(job), created };
    },

    async claimScoringShard(request) {
      const shard = await scoring.claim({
        worker: request.worker,
        leaseSeconds: request.leaseSeconds,
        datasetId: request.datasetId,
      });
      return { shard: shard ? shardToProto(shard) : undefined };
    },

    async recordPredictions(request) {
      const { job, recorded } = await scoring.record({
        shardId: request.shardId,
        worker: request.worker,
        predictions: request.predictions.map((p) => ({
          itemId: p.itemId,
          probabilities: p.probabilities,
          acquisitionScore: p.acquisitionScore,
          embedding: p.embedding,
        })),
      });
      return { job: scoringJobToProto(job), recorded };
    },

    async getScoringJob(request) {
      return { job: scoringJobToProto(await scoring.get(request.jobId)) };
    },

    async listScoringJobs(request) {
      const limit = request.limit === 0 ? DEFAULT_JOB_LIST_LIMIT : parseLimit(request.limit);
      return { jobs: (await scoring.list(request.datasetId, limit)).map(scoringJobToProto) };
    },
  };
}

export function scoringJobToProto(job: ScoringJob): datasetV1.ScoringJob {
  return {
    id: job.id,
    datasetId: job.datasetId,
    modelId: job.modelId,
    modelVersion: job.modelVersion,
    status: scoringStatusToProto(job.status),
    shardsTotal: job.shardsTotal,
    shardsDone: job.shardsDone,
    itemsTotal: job.itemsTotal,
    itemsScored: job.itemsScored,
    failureReason: job.failureReason,
    createdAt: job.createdAt,
    finishedAt: job.finishedAt ?? undefined,
    decision: job.decision ? decisionToProto(job.decision) : undefined,
  };
}

export function decisionToProto(decision: AutoLabelDecision): datasetV1.AutoLabelDecision {
  return {
    modelVersion: decision.modelVersion,
    scope: decision.scope,
    thresholds: decision.thresholds.map((t) => ({
      className: t.className,
      threshold: t.threshold,
      accepted: t.accepted,
      errors: t.errors,
      errorUpperBound: t.errorUpperBound,
    })),
    calibrationItems: decision.calibrationItems,
    thresholdsTried: decision.thresholdsTried,
    targetError: decision.targetError,
    confidence: decision.confidence,
    autoLabelled: decision.autoLabelled,
    poolItems: decision.poolItems,
    auditItems: decision.auditItems,
    suspectedLabelErrors: decision.suspectedLabelErrors,
    reason: decision.reason,
  };
}

function shardToProto(shard: ClaimedShard): datasetV1.ScoringShard {
  return {
    id: shard.id,
    jobId: shard.jobId,
    datasetId: shard.datasetId,
    modelId: shard.modelId,
    modelVersion: shard.modelVersion,
    artifactPrefix: shard.artifactPrefix,
    items: shard.items.map((item) => ({
      itemId: item.itemId,
      sha256: item.sha256,
      kind: item.kind ? scoringKindToProto(item.kind) : datasetV1.ScoringKind.SCORING_KIND_UNSPECIFIED,
    })),
    strategy: strategyToProto(shard.strategy),
    mcSamples: shard.mcSamples,
    embeddings: shard.embeddings,
    leaseExpiresAt: shard.leaseExpiresAt,
  };
}
