import type * as tf from '@tensorflow/tfjs';
import { InvalidArgumentError } from '@labelloop/common';
import { buildAlexNet } from './alexnet.js';
import { buildCnn28, buildCnnBlocks } from './compact-cnn.js';
import type { Architecture, ModelSpec } from './model-spec.js';

const ARCHITECTURES: readonly Architecture[] = ['alexnet', 'cnn-28', 'cnn-32', 'cnn-64'];

/** Smallest input side each architecture's conv/pool stack can reduce without running out of pixels. */
const MIN_SIDE: Record<Architecture, number> = { alexnet: 195, 'cnn-28': 10, 'cnn-32': 8, 'cnn-64': 16 };

export function assertModelSpec(spec: ModelSpec): void {
  if (!ARCHITECTURES.includes(spec.architecture)) {
    throw new InvalidArgumentError(`unknown architecture ${JSON.stringify(spec.architecture)}`, {
      allowed: ARCHITECTURES,
    });
  }
  const [h, w, c] = spec.inputShape ?? [];
  const min = MIN_SIDE[spec.architecture];
  if (!Number.isInteger(h) || !Number.isInteger(w) || h! < min || w! < min || (c !== 1 && c !== 3)) {
    throw new InvalidArgumentError(
      `${spec.architecture} needs inputShape [h, w, 1|3] with h, w ≥ ${min}, got ${JSON.stringify(spec.inputShape)}`,
    );
  }
  if (!Number.isInteger(spec.numClasses) || spec.numClasses < 2) {
    throw new InvalidArgumentError(`numClasses must be an integer ≥ 2, got ${spec.numClasses}`);
  }
  if (spec.dropout !== undefined && !(spec.dropout >= 0 && spec.dropout < 1)) {
    throw new InvalidArgumentError(`dropout must be in [0, 1), got ${spec.dropout}`);
  }
}

/**
 * Builds the network of a spec. Inputs are uint8 pixel values (any numeric dtype) rescaled by 1/255
 * inside the model; the output is logits. With a seed the initial weights are the same on every call
 * and backend; without one they are random.
 */
export function buildModel(spec: ModelSpec, seed?: number): tf.LayersModel {
  assertModelSpec(spec);
  switch (spec.architecture) {
    case 'alexnet':
      return buildAlexNet(spec, seed);
    case 'cnn-28':
      return buildCnn28(spec, seed);
    case 'cnn-32':
      return buildCnnBlocks(spec, seed, [32, 64, 128]);
    case 'cnn-64':
      return buildCnnBlocks(spec, seed, [32, 64, 128, 128]);
  }
}
