import { InvalidArgumentError } from '@labelloop/common';
import { assertModelSpec } from './build-model.js';
import type { ModelSpec } from './model-spec.js';

/**
 * Chooses the architecture for a dataset's images: the smallest network whose input holds the
 * image's larger side (images are resized to the spec's inputShape when decoded). Photos above
 * 64 px go to the AlexNet-style network at 227×227. Channels follow the image (1 grey, 3 colour).
 */
export function modelSpecForImage(
  image: { width: number; height: number; channels: number },
  numClasses: number,
): ModelSpec {
  const { width, height } = image;
  if (!(width > 0 && height > 0)) {
    throw new InvalidArgumentError(`image size must be positive, got ${width}×${height}`);
  }
  // 2 = grey + alpha, 4 = RGBA: the alpha channel is dropped when decoding.
  const channels = image.channels <= 2 ? 1 : 3;
  const side = Math.max(width, height);
  const spec: ModelSpec =
    side <= 28
      ? { architecture: 'cnn-28', inputShape: [28, 28, channels], numClasses }
      : side <= 32
        ? { architecture: 'cnn-32', inputShape: [32, 32, channels], numClasses }
        : side <= 64
          ? { architecture: 'cnn-64', inputShape: [64, 64, channels], numClasses }
          : { architecture: 'alexnet', inputShape: [227, 227, channels], numClasses };
  assertModelSpec(spec);
  return spec;
}
