import * as tf from '@tensorflow/tfjs';
import type { ImageSet } from '../data/image-set.js';
import { weightedCrossEntropy } from '../engine/loss.js';
import { forward } from '../models/forward.js';

/** Mean cross-entropy and accuracy of a model (inference mode: no dropout, batch-norm moving statistics). */
export async function validate(
  model: tf.LayersModel,
  set: ImageSet,
  batchSize: number,
): Promise<{ loss: number; accuracy: number }> {
  let lossSum = 0;
  let correct = 0;
  for (const batch of set.batches(batchSize)) {
    const [h, w, c] = set.shape;
    const [loss, hits] = tf.tidy(() => {
      const x = tf.tensor4d(batch.x, [batch.n, h, w, c], 'int32').toFloat();
      const y = tf.tensor1d(batch.y, 'int32');
      const logits = forward(model, x, { training: false, dropout: false }) as tf.Tensor2D;
      return [weightedCrossEntropy(logits, y).mul(batch.n), tf.equal(tf.argMax(logits, 1).toInt(), y).sum()];
    });
    const [l, k] = await Promise.all([loss.data(), hits.data()]);
    loss.dispose();
    hits.dispose();
    lossSum += l[0]!;
    correct += k[0]!;
  }
  return { loss: lossSum / set.n, accuracy: correct / set.n };
}
