// A small typed wrapper over the trainer service's gRPC client: routes speak JSON shapes,
// this module speaks proto (mapping in trainer.mapping.ts). Errors pass through as
// GrpcCallError and become problem+json in problem.ts (UNAVAILABLE → 503).
import { createGrpcClient, type GrpcClient, type Registry } from '@labelloop/common';
import { trainingV1 } from '@labelloop/proto';
import type { Channel } from 'nice-grpc';
import { HealthDefinition } from 'nice-grpc-server-health';
import type {
  HyperParametersJson,
  ModelJson,
  RetrainPolicyJson,
  RunTriggerName,
  SearchSettingsJson,
  TrainingRunJson,
} from '../openapi/training-schemas.js';
import {
  hyperParametersToProto,
  modelToJson,
  policyToJson,
  runToJson,
  runTriggerEnum,
  searchToProto,
} from './trainer.mapping.js';

/** The name the trainer server registers with grpc.health.v1. */
export const TRAINER_SERVICE_NAME = 'labelloop.training.v1.TrainerService';

export interface StartRunInput {
  datasetId: string;
  hyperParameters?: HyperParametersJson | undefined;
  search?: SearchSettingsJson | undefined;
  trigger: Exclude<RunTriggerName, 'policy'>;
  requestedBy: string;
}

export type RetrainPolicyChange = Partial<Omit<RetrainPolicyJson, 'datasetId'>>;

export class TrainerGateway {
  private readonly client: GrpcClient<trainingV1.TrainerServiceDefinition>;
  private readonly health: GrpcClient<typeof HealthDefinition>;

  constructor(channel: Channel, options: { defaultDeadlineMs?: number; registry?: Registry } = {}) {
    this.client = createGrpcClient(trainingV1.TrainerServiceDefinition, channel, options);
    this.health = createGrpcClient(HealthDefinition, channel, options);
  }

  async startRun(input: StartRunInput): Promise<TrainingRunJson> {
    const { run } = await this.client.startTrainingRun({
      datasetId: input.datasetId,
      hyperParameters: input.hyperParameters && hyperParametersToProto(input.hyperParameters),
      search: input.search && searchToProto(input.search),
      trigger: runTriggerEnum.proto(input.trigger),
      requestedBy: input.requestedBy,
    });
    return runToJson(required(run));
  }

  async getRun(runId: string): Promise<TrainingRunJson> {
    return runToJson(required((await this.client.getTrainingRun({ runId })).run));
  }

  async listRuns(datasetId: string, limit: number | undefined, cursor: string | undefined) {
    const page = await this.client.listTrainingRuns({ datasetId, limit: limit ?? 0, cursor: cursor ?? '' });
    return { runs: page.runs.map(runToJson), nextCursor: page.nextCursor || null };
  }

  async cancelRun(runId: string): Promise<TrainingRunJson> {
    return runToJson(required((await this.client.cancelTrainingRun({ runId })).run));
  }

  /** The run as it is now, then each change until it ends; aborting `signal` cancels the stream. */
  async *watchRun(runId: string, signal: AbortSignal): AsyncIterable<TrainingRunJson> {
    for await (const { run } of this.client.watchTrainingRun({ runId }, { signal })) yield runToJson(required(run));
  }

  async listModels(datasetId: string): Promise<ModelJson[]> {
    return (await this.client.listModels({ datasetId })).models.map(modelToJson);
  }

  async getModel(modelId: string): Promise<ModelJson> {
    return modelToJson(required((await this.client.getModel({ modelId })).model));
  }

  async promoteModel(modelId: string, actor: string): Promise<ModelJson> {
    return modelToJson(required((await this.client.promoteModel({ modelId, actor })).model));
  }

  /** Gives the champion role back to the previous champion; returns the champion after it. */
  async rollback(datasetId: string, actor: string): Promise<ModelJson> {
    return modelToJson(required((await this.client.rollbackModel({ datasetId, actor })).model));
  }

  async getRetrainPolicy(datasetId: string): Promise<RetrainPolicyJson> {
    return policyToJson(required((await this.client.getRetrainPolicy({ datasetId })).policy));
  }

  /**
   * SetRetrainPolicy replaces the whole policy: fields left out keep their current value
   * (read, merge, write; two admins racing on one dataset's policy is last-writer-wins).
   */
  async setRetrainPolicy(datasetId: string, change: RetrainPolicyChange): Promise<RetrainPolicyJson> {
    const current = await this.getRetrainPolicy(datasetId);
    const given = Object.fromEntries(Object.entries(change).filter(([, value]) => value !== undefined));
    const { policy } = await this.client.setRetrainPolicy({ policy: { ...current, ...given, datasetId } });
    return policyToJson(required(policy));
  }

  /** grpc.health.v1 of the trainer: true only when it answers SERVING. */
  async isServing(timeoutMs: number): Promise<boolean> {
    const res = await this.health.check({ service: TRAINER_SERVICE_NAME }, { timeoutMs });
    return res.status === 1; // HealthCheckResponse_ServingStatus.SERVING
  }
}

function required<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('trainer service response lacks a required message');
  return value;
}
