// @labelloop/ml: TensorFlow.js backends and kernels, models, training, evaluation, active learning.
export {
  type ImageSpec, type ImageBatch, imageBytes, decodeImage, decodeImages, type DecodeImagesOptions, type DecodeFailure,
  type LabelledImageBytes, ImageSet, loadImageSet, classCounts, type LoadImageSetOptions, augment, type AugmentKind,
  type AugmentOptions, classWeights, sampleWeights,
} from './data/index.js';
export {
  evaluate, calibration, expectedCalibrationError, ECE_BINS, type EvaluationReport, type ClassMetrics, type CalibrationBin,
  softmaxWithTemperature, negativeLogLikelihood, fitTemperature, calibrationReport, type CalibrationReport,
} from './evaluation/index.js';
export {
  DEFAULT_SEARCH_SPACE, searchSpace, sampleConfig, type SearchSpace, createRandomSearch, createSuccessiveHalving, proposeTrials,
  recordResult, recordFailure, requeueTrial, isFinished, best, type SearchState, type Trial, type TrialResult, type TrialRecord,
  type TrialStatus, runSearch, type RunSearchOptions,
} from './search/index.js';
export {
  initBackend, currentBackend, BACKEND_NAMES, type BackendName, type BackendInfo, type InitBackendOptions,
} from './backend/init-backend.js';
export { registerBackendMetric, ML_BACKEND_INFO } from './backend/backend-metric.js';
export { useWasmBackend } from './backend/wasm-backend.js';
export { registerWasmKernels, labelloopWasmKernels } from './kernels/register-wasm-kernels.js';
export {
  createParallelEngine, createTrainingEngine, type ParallelEngine, type ParallelEngineOptions,
} from './engine/parallel-engine.js';
export * from './models/index.js';
export type { OptimizerName, OptimizerConfig, TrainBatch, StepResult, TrainingEngine, EngineOptions } from './engine/types.js';
export { createLocalEngine, setModelWeights, type LocalEngine } from './engine/local-engine.js';
export { createOptimizer } from './engine/optimizer.js';
export { weightedCrossEntropy } from './engine/loss.js';
export * from './training/index.js';
export * from './predict/index.js';
export {
  saveModelArtifact, loadModelArtifact, MODEL_JSON, SIDECAR_JSON, DEFAULT_SHARD_BYTES, type ModelSidecar, type ModelSidecarInput,
  libraryVersions, SIDECAR_FORMAT_VERSION,
} from './artifacts/index.js';
