export { saveModelArtifact, loadModelArtifact, MODEL_JSON, SIDECAR_JSON, DEFAULT_SHARD_BYTES } from './model-artifact.js';
export { type ModelSidecar, type ModelSidecarInput, libraryVersions, SIDECAR_FORMAT_VERSION } from './model-sidecar.js';
