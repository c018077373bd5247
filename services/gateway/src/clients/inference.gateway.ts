// The inference service's gRPC client in JSON shapes. Errors pass through as GrpcCallError
// (FAILED_PRECONDITION without a champion → 422, INVALID_ARGUMENT → 400, UNAVAILABLE → 503).
import { createGrpcClient, type GrpcClient, type Registry } from '@labelloop/common';
import { inferenceV1 } from '@labelloop/proto';
import type { Channel } from 'nice-grpc';
import type { PredictResponseJson } from '../openapi/active-learning-schemas.js';
import { predictResponseToJson } from './active-learning.mapping.js';

export interface PredictImage {
  fileName: string;
  content: Buffer;
}

export class InferenceGateway {
  private readonly client: GrpcClient<inferenceV1.InferenceServiceDefinition>;

  constructor(channel: Channel, options: { defaultDeadlineMs?: number; registry?: Registry } = {}) {
    this.client = createGrpcClient(inferenceV1.InferenceServiceDefinition, channel, options);
  }

  async predict(datasetId: string, images: PredictImage[], topK: number): Promise<PredictResponseJson> {
    return predictResponseToJson(await this.client.predict({ datasetId, images, topK }));
  }
}
