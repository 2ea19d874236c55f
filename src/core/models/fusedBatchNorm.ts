import * as tf from '@tensorflow/tfjs-core';

/**
 * Batch norm and its affine step as one kernel: inputs x [B, …, C], gamma and beta ([C], or
 * [B, C] with attrs.perSample); outputs [y, x̂, mean [C], variance [C], 1/√(variance + ε) [C]].
 * Registered by some backends (wasm: src/core/backend/wasmBatchNormKernels.ts), where layers.ts's
 * batch norms are a dozen tfjs calls forward and two dozen backward on tensors small enough that
 * the calls, not the arithmetic, are the cost; the composite ops run elsewhere.
 */
export const BATCH_NORM = 'IcganBatchNorm';

/** Its gradient: inputs dy, xhat, rstd, gamma; outputs [∂x, ∂gamma, ∂beta]. */
export const BATCH_NORM_GRAD = 'IcganBatchNormGrad';

export interface BatchNormAttrs {
  epsilon: number;
  /** gamma and beta are [B, C], one row per sample (conditional batch norm). */
  perSample: boolean;
}

/** Whether the active backend runs {@link fusedBatchNorm}. */
export function hasFusedBatchNorm(): boolean {
  const backend = tf.getBackend();
  return (
    tf.getKernel(BATCH_NORM, backend) !== undefined &&
    tf.getKernel(BATCH_NORM_GRAD, backend) !== undefined
  );
}

/**
 * x̂·γ + β with x̂ batch-normalised by the batch's own statistics, as one op on the
 * {@link BATCH_NORM} kernels: the same values, rounded the same way, as layers.ts's composite
 * formulation (batchNormalised, then a taped multiply and add), whose gradient it writes out —
 * ∂x from batchNormalised's closed form on ∂x̂ = dy·γ, ∂γ = Σ dy·x̂ and ∂β = Σ dy over the axes γ
 * broadcasts along. `record` receives the statistics (kept by the caller if it keeps them).
 */
export function fusedBatchNorm<T extends tf.Tensor>(
  x: T,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  epsilon: number,
  record?: (stats: { mean: tf.Tensor; variance: tf.Tensor }) => void,
): T {
  const attrs: BatchNormAttrs = { epsilon, perSample: gamma.rank === 2 };
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, g, b, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const [y, xhat, mean, variance, rstd] = tf
      .engine()
      .runKernel(BATCH_NORM, { x: input, gamma: g, beta: b }, { ...attrs }) as tf.Tensor[];
    record?.({ mean: mean as tf.Tensor, variance: variance as tf.Tensor });
    save([xhat as tf.Tensor, rstd as tf.Tensor, g]);
    return {
      value: y as tf.Tensor,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xh, r, g0] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        return tf
          .engine()
          .runKernel(
            BATCH_NORM_GRAD,
            { dy, xhat: xh, rstd: r, gamma: g0 },
            { ...attrs },
          ) as tf.Tensor[];
      },
    };
  });
  return op(x, gamma, beta) as T;
}
