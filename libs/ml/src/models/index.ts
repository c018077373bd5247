export type { Architecture, ModelSpec } from './model-spec.js';
export { buildModel, assertModelSpec } from './build-model.js';
export { modelSpecForImage } from './model-spec-for-image.js';
export { EMBEDDING_LAYER, LOGITS_LAYER } from './layer-factory.js';
export { forward, modelLayers, firstDropoutIndex, layerIndex, type ForwardOptions } from './forward.js';
