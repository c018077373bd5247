import * as tf from '@tensorflow/tfjs';
import { InvalidArgumentError } from '@labelloop/common';
import type { OptimizerConfig } from './types.js';

/** The four optimizers of the original design's search space. */
export function createOptimizer(config: OptimizerConfig): tf.Optimizer {
  const { name, learningRate } = config;
  if (!(learningRate > 0 && Number.isFinite(learningRate))) {
    throw new InvalidArgumentError(`learning rate must be a positive number, got ${learningRate}`);
  }
  const momentum = config.momentum;
  if (momentum !== undefined && !(momentum >= 0 && momentum < 1)) {
    throw new InvalidArgumentError(`momentum must be in [0, 1), got ${momentum}`);
  }
  switch (name) {
    case 'sgd':
      return tf.train.sgd(learningRate);
    case 'momentum':
      return tf.train.momentum(learningRate, momentum ?? 0.9);
    case 'adam':
      return tf.train.adam(learningRate);
    case 'rmsprop':
      return tf.train.rmsprop(learningRate, 0.9, momentum ?? 0);
    default:
      throw new InvalidArgumentError(`unknown optimizer ${JSON.stringify(name)}`, {
        allowed: ['sgd', 'momentum', 'adam', 'rmsprop'],
      });
  }
}
