import type { inferenceV1 } from '@labelloop/proto';
import type { FilePrediction } from '../domain/online-predictor.js';
import type { LoadedModel } from '../domain/types.js';

export function provenanceToProto(m: LoadedModel): inferenceV1.ModelProvenance {
  return {
    modelId: m.modelId,
    modelVersion: m.version,
    architecture: m.architecture,
    temperature: m.temperature,
    backend: m.backend,
    runId: m.runId,
    trainedAt: m.trainedAt,
    loadedAt: m.loadedAt,
  };
}

export function predictionToProto(p: FilePrediction): inferenceV1.ImagePrediction {
  return {
    fileName: p.fileName,
    label: p.label,
    confidence: p.confidence,
    topK: p.topK.map((c) => ({ label: c.label, probability: c.probability })),
  };
}
