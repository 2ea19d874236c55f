import * as tf from '@tensorflow/tfjs-core';
import { param, type TensorMap } from './paramStore';

/**
 * One power-iteration step and W/σ as one kernel: inputs w (any shape, seen as [n, m] with m its
 * last axis) and u [m]; outputs [w/σ, u1 [m], v [n], σ []] — exactly what
 * {@link spectralNormalised}'s composite ops compute. Registered by some backends (wasm:
 * src/core/backend/wasmSpectralNormKernels.ts), where a dozen calls on vectors of a few hundred
 * floats cost more than their arithmetic; the composite ops run elsewhere.
 */
export const SPECTRAL_NORM = 'IcganSpectralNorm';

/** Its gradient: inputs dy, w, v, u1, sigma; output ∂L/∂W (see {@link spectralNormalised}). */
export const SPECTRAL_NORM_GRAD = 'IcganSpectralNormGrad';

/** x / (‖x‖ + 1e-12); ‖x‖ as √Σx², three kernels where tf.norm runs four (|x|, then a power). */
function l2Normalise(x: tf.Tensor2D): tf.Tensor2D {
  return tf.div(x, tf.add(tf.sqrt(tf.sum(tf.square(x))), 1e-12));
}

/** The power-iteration step as tfjs ops: [w/σ, u1, v, σ], shaped as {@link SPECTRAL_NORM}'s. */
function compositeStep(weight: tf.Tensor, u: tf.Tensor): tf.Tensor[] {
  const fanOut = weight.shape[weight.rank - 1] as number;
  const mat = tf.reshape(weight, [-1, fanOut]) as tf.Tensor2D;
  const v = l2Normalise(tf.matMul(mat, tf.reshape(u, [fanOut, 1])));
  const u1 = l2Normalise(tf.matMul(mat, v, true, false));
  const sigma = tf.sum(tf.mul(tf.matMul(mat, u1), v));
  return [tf.div(weight, sigma), tf.reshape(u1, [fanOut]), tf.reshape(v, [-1]), sigma];
}

/** The written-out gradient as tfjs ops. */
function compositeGrad(dy: tf.Tensor, w: tf.Tensor, v: tf.Tensor, u1: tf.Tensor, sigma: tf.Tensor) {
  const dSigma = tf.div(tf.sum(tf.mul(dy, w)), tf.square(sigma));
  const dSigmaDw = tf.reshape(
    tf.matMul(tf.reshape(v, [-1, 1]), tf.reshape(u1, [-1, 1]), false, true),
    w.shape,
  );
  return tf.sub(tf.div(dy, sigma), tf.mul(dSigma, dSigmaDw));
}

/**
 * Spectral normalisation (Miyato et al. 2018): W / σ(W), σ the largest singular value of W seen
 * as a [fan-in, fan-out] matrix (a conv kernel [k, k, in, out] is reshaped to [k·k·in, out]).
 * σ is estimated with one power iteration per forward pass from the vector `u` (length fan-out),
 * which persists between passes so the estimate converges as W drifts slowly. `u` is a
 * non-trainable variable in the same parameter map, so checkpoints store it and a resumed run
 * continues bit-for-bit; variableGrads skips it since it is not trainable. The refined `u` is
 * written back on every call, as PyTorch's spectral_norm does in training mode — D only ever runs
 * in training — so this is the one forward pass that changes state.
 *
 * Backprop treats the power-iteration vectors v and u as constants (Miyato et al., PyTorch), so
 * σ = vᵀ·W·u has ∂σ/∂W = v·uᵀ and the gradient is written out:
 *   ∂L/∂W = dY/σ − (Σ dY∘W)/σ² · v·uᵀ.
 * The iteration runs inside the custom gradient's forward function, where tfjs records nothing on
 * the tape. Taped (with a stop-gradient on v and u), every op of it was back-propagated with zeros:
 * the demo's step ran 3,065 kernels that way, 1,720 without. Where the backend has
 * {@link SPECTRAL_NORM} and {@link SPECTRAL_NORM_GRAD}, each direction is one kernel call.
 */
export function spectralNormalised(p: TensorMap, weightName: string, uName: string): tf.Tensor {
  const w = param(p, weightName);
  const u = param(p, uName);
  if (!(u instanceof tf.Variable))
    throw new Error(`spectral-norm vector '${uName}' must be a variable`);
  const backend = tf.getBackend();
  const fused =
    tf.getKernel(SPECTRAL_NORM, backend) !== undefined &&
    tf.getKernel(SPECTRAL_NORM_GRAD, backend) !== undefined;
  const normalise = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [weight, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const [wn, u1, v, sigma] = fused
      ? (tf.engine().runKernel(SPECTRAL_NORM, { w: weight, u }) as tf.Tensor[])
      : compositeStep(weight, u);
    u.assign(u1 as tf.Tensor);
    save([weight, v as tf.Tensor, u1 as tf.Tensor, sigma as tf.Tensor]);
    return {
      value: wn as tf.Tensor,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [w0, v0, u0, s0] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        return fused
          ? (tf
              .engine()
              .runKernel(SPECTRAL_NORM_GRAD, { dy, w: w0, v: v0, u1: u0, sigma: s0 }) as tf.Tensor)
          : compositeGrad(dy, w0, v0, u0, s0);
      },
    };
  });
  return normalise(w);
}
