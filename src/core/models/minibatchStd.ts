import * as tf from '@tensorflow/tfjs-core';

/**
 * Minibatch std as one kernel: input x [B, H, W, C], attrs {@link MinibatchStdAttrs}; outputs
 * [x with the std channel appended [B, H, W, C + 1], the group means [B/g, H·W·C], variance + ε
 * [B/g, H·W·C]]. Registered by some backends (wasm: src/core/backend/wasmMinibatchStdKernels.ts),
 * where the composite ops are ~25 tfjs calls forward and backward on tensors small enough that the
 * calls, not the arithmetic, are the cost; the composite ops run elsewhere.
 */
export const MINIBATCH_STD = 'IcganMinibatchStd';

/** Its gradient: inputs dy, x, mean, a (the forward's outputs 1 and 2); output ∂x. */
export const MINIBATCH_STD_GRAD = 'IcganMinibatchStdGrad';

export interface MinibatchStdAttrs {
  /** Images per group; divides the batch. */
  group: number;
  epsilon: number;
}

/** Added to the variance before its root, so that a group of equal images has a gradient. */
const EPSILON = 1e-8;

/** Whether the active backend runs minibatch std as one kernel each way. */
export function hasMinibatchStdKernels(): boolean {
  const backend = tf.getBackend();
  return (
    tf.getKernel(MINIBATCH_STD, backend) !== undefined &&
    tf.getKernel(MINIBATCH_STD_GRAD, backend) !== undefined
  );
}

/**
 * Minibatch standard deviation (Karras et al. 2018): the per-feature std over a group of images,
 * averaged to one number and appended as a constant channel to the group's images. Without
 * batch norm in D (spectral norm) D otherwise judges every image on its own and cannot see that
 * G's samples look alike. Groups are consecutive images (`group`; 0, or one that does not divide
 * the batch = the whole batch); training draws a group's images with one condition — a class, an
 * instance's neighbourhood — so the statistic compares the variety within one condition, where a
 * conditional G collapses first (all "squares" green), rather than across a batch that mixes
 * conditions. When D judges real and fake in one batch, each half splits into whole groups
 * (ConvGan.judgesTogether), so no group mixes the two.
 *
 * On the {@link MINIBATCH_STD} kernels where registered (the same values, rounded the same way, as
 * the composite ops, whose gradient they write out), the composite ops elsewhere.
 */
export function appendMinibatchStd(h: tf.Tensor4D, group: number): tf.Tensor4D {
  const b = h.shape[0];
  const g = group > 0 && b % group === 0 ? group : b;
  return hasMinibatchStdKernels() ? onKernels(h, g) : composite(h, g);
}

function composite(h: tf.Tensor4D, g: number): tf.Tensor4D {
  const [b, height, width, c] = h.shape;
  const grouped = tf.reshape(h, [b / g, g, height, width, c]);
  const variance = tf.moments(grouped, 1).variance;
  const sd = tf.mean(tf.sqrt(tf.add(variance, EPSILON)), [1, 2, 3]);
  const perImage = tf.reshape(tf.tile(tf.reshape(sd, [b / g, 1]), [1, g]), [b, 1, 1, 1]);
  return tf.concat([h, tf.mul(tf.ones([b, height, width, 1]), perImage) as tf.Tensor4D], 3);
}

function onKernels(h: tf.Tensor4D, g: number): tf.Tensor4D {
  const attrs: MinibatchStdAttrs = { group: g, epsilon: EPSILON };
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, save] = args as [tf.Tensor4D, tf.GradSaveFunc];
    const [out, mean, a] = tf.engine().runKernel(MINIBATCH_STD, { x }, { ...attrs }) as tf.Tensor[];
    save([x, mean as tf.Tensor, a as tf.Tensor]);
    return {
      value: out as tf.Tensor4D,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [x0, m, a0] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        return tf
          .engine()
          .runKernel(MINIBATCH_STD_GRAD, { dy, x: x0, mean: m, a: a0 }, { ...attrs }) as tf.Tensor;
      },
    };
  });
  return op(h) as tf.Tensor4D;
}
