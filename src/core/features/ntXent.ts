/**
 * NT-Xent, the normalised temperature-scaled cross-entropy of SimCLR (Chen et al. 2020): each
 * view must pick its partner view out of all other views of the batch by cosine similarity.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Keeps a view from choosing itself; exp of it underflows to exactly 0 in the softmax. */
const SELF_LOGIT_PENALTY = 1e9;

/**
 * The mean NT-Xent loss of `z` (2n × p): rows i and i + n are the two views of image i, and every
 * other row is a negative. The partner is picked with a constant one-hot target rather than a
 * gather, whose gradient needs a kernel the WASM backend lacks (UnsortedSegmentSum).
 */
export function ntXentLoss(z: tf.Tensor2D, temperature: number): tf.Scalar {
  const rows = z.shape[0];
  if (rows % 2 !== 0 || rows < 4) {
    throw new RangeError(`NT-Xent needs an even number ≥ 4 of views, got ${rows}`);
  }
  return tf.tidy(() => {
    const unit = tf.div(z, tf.sqrt(tf.add(tf.sum(tf.square(z), 1, true), 1e-12)));
    const similarity = tf.div(tf.matMul(unit, unit, false, true), temperature);
    const logits = tf.sub(similarity, tf.mul(tf.eye(rows), SELF_LOGIT_PENALTY));
    return tf.losses.softmaxCrossEntropy(partnerTargets(rows), logits) as tf.Scalar;
  });
}

/** One-hot rows marking each view's partner: i ↔ i + n. */
export function partnerTargets(rows: number): tf.Tensor2D {
  const half = rows / 2;
  const targets = new Float32Array(rows * rows);
  for (let i = 0; i < rows; i++) targets[i * rows + ((i + half) % rows)] = 1;
  return tf.tensor2d(targets, [rows, rows]);
}
