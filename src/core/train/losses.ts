import * as tf from '@tensorflow/tfjs-core';
import type { LossType } from '../config/types';

/**
 * GAN objectives on D's logits. Non-saturating: D minimises −log σ(real) − log(1 − σ(fake)), and G
 * minimises −log σ(fake) (Goodfellow et al. 2014, the variant with strong early gradients), both
 * written with softplus for stability. Hinge: the SNGAN/BigGAN form.
 */
export function discriminatorLoss(type: LossType, real: tf.Tensor1D, fake: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() =>
    type === 'hinge'
      ? tf.add<tf.Scalar>(tf.mean(tf.relu(tf.sub(1, real))), tf.mean(tf.relu(tf.add(1, fake))))
      : tf.add<tf.Scalar>(tf.mean(tf.softplus(tf.neg(real))), tf.mean(tf.softplus(fake))),
  );
}

export function generatorLoss(type: LossType, fake: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() =>
    type === 'hinge'
      ? tf.neg(tf.mean<tf.Scalar>(fake))
      : tf.mean<tf.Scalar>(tf.softplus(tf.neg(fake))),
  );
}

/**
 * AC-GAN's auxiliary loss (Odena et al. 2017): the mean cross-entropy of class logits [B, C]
 * against int32 labels [B].
 */
export function classLoss(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const target = tf.oneHot(labels, logits.shape[1]);
    return tf.neg(tf.mean<tf.Scalar>(tf.sum(tf.mul(target, tf.logSoftmax(logits)), 1)));
  });
}
