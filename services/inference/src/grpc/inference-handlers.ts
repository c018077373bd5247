import type { inferenceV1 } from '@labelloop/proto';
import type { ModelRegistry } from '../domain/model-registry.js';
import type { OnlinePredictor } from '../domain/online-predictor.js';
import { predictionToProto, provenanceToProto } from './convert.js';

// labelloop.inference.v1.InferenceService: proto ↔ domain mapping only; DomainErrors become status
// codes in the server middleware.

export function createInferenceHandlers(deps: { predictor: OnlinePredictor; registry: ModelRegistry }): inferenceV1.InferenceServiceImplementation {
  return {
    async predict(req) {
      const result = await deps.predictor.predict({
        datasetId: req.datasetId,
        images: req.images.map((i) => ({ fileName: i.fileName, content: i.content })),
        topK: req.topK,
      });
      return { predictions: result.predictions.map(predictionToProto), model: provenanceToProto(result.model) };
    },
    async listLoadedModels() {
      return { models: deps.registry.listChampions().map((m) => ({ datasetId: m.datasetId, model: provenanceToProto(m) })) };
    },
  };
}
