import * as tf from '@tensorflow/tfjs';

/**
 * Sparse softmax cross-entropy, weighted per sample and averaged over the batch size (Keras'
 * sample-weight convention: a class weight of 2 counts each of its samples twice).
 */
export function weightedCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D, weights?: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const k = logits.shape[1];
    const perSample = tf.neg(tf.sum(tf.mul(tf.oneHot(labels, k), tf.logSoftmax(logits)), 1));
    const weighted = weights ? tf.mul(perSample, weights) : perSample;
    return tf.mean(weighted) as tf.Scalar;
  });
}
