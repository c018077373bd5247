export { type ImageSpec, type ImageBatch, imageBytes, assertImageSpec } from './image-spec.js';
export { decodeImage } from './decode-image.js';
export { decodeImages, type DecodeImagesOptions, type DecodeFailure, type LabelledImageBytes } from './decode-images.js';
export { ImageSet, loadImageSet, classCounts, type LoadImageSetOptions } from './image-set.js';
export { augment, type AugmentKind, type AugmentOptions } from './augment.js';
export { classWeights, sampleWeights } from './class-weights.js';
