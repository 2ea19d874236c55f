import * as tf from '@tensorflow/tfjs-core';
import { fusedBatchNorm, hasFusedBatchNorm } from './fusedBatchNorm';
import { param, type TensorMap } from './paramStore';

const BN_EPSILON = 1e-5;

export interface BnStats {
  mean: tf.Tensor;
  variance: tf.Tensor;
}

/**
 * How batch norm gets its statistics: from the batch (training), from fixed "standing" statistics
 * (sampling — so one image doesn't depend on the others in its batch), or from the batch while
 * recording them (to compute the standing statistics).
 */
export type BnMode =
  | { kind: 'batch' }
  | { kind: 'fixed'; stats: ReadonlyMap<string, BnStats> }
  | { kind: 'collect'; out: Map<string, BnStats[]> };

export const BATCH_STATS: BnMode = { kind: 'batch' };

export function dense(p: TensorMap, name: string, x: tf.Tensor2D, bias = true): tf.Tensor2D {
  const y = tf.matMul(x, param(p, `${name}.w`) as tf.Tensor2D) as tf.Tensor2D;
  return bias ? (tf.add(y, param(p, `${name}.b`)) as tf.Tensor2D) : y;
}

/** 4×4 stride-2 'same' convolution: halves the resolution. */
export function convDown(p: TensorMap, name: string, x: tf.Tensor4D, bias = true): tf.Tensor4D {
  const y = tf.conv2d(x, param(p, `${name}.w`) as tf.Tensor4D, 2, 'same');
  return bias ? tf.add(y, param(p, `${name}.b`)) : y;
}

/** 4×4 stride-2 transposed convolution: doubles the resolution. Weights are [k, k, out, in]. */
export function convUp(p: TensorMap, name: string, x: tf.Tensor4D, bias = true): tf.Tensor4D {
  const w = param(p, `${name}.w`) as tf.Tensor4D;
  const [b, h, wd] = x.shape;
  const outC = w.shape[2];
  const y = tf.conv2dTranspose(x, w, [b, h * 2, wd * 2, outC], 2, 'same');
  return bias ? tf.add(y, param(p, `${name}.b`)) : y;
}

/** Every axis but the last (channels): what batch statistics average over. */
function statAxes(x: tf.Tensor): number[] {
  return x.shape.slice(0, -1).map((_, i) => i);
}

/**
 * x̂ = (x − μ)/√(σ² + ε) per channel, with μ and σ² the batch's own statistics, as one op with the
 * closed-form gradient (Ioffe & Szegedy 2015; what PyTorch's batch norm computes):
 *   ∂L/∂x = (dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)) / √(σ² + ε), the means over the batch axes.
 * Taped, the statistics and the normalisation were a dozen ops whose backward pass was two
 * dozen more, each with its broadcast reductions: the demo generator's three batch norms ran
 * ~240 kernels per step that way. `record` receives the statistics ('collect' mode).
 */
function batchNormalised<T extends tf.Tensor>(x: T, record?: (stats: BnStats) => void): T {
  const axes = statAxes(x);
  const normalise = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const { mean, variance } = tf.moments(input, axes);
    const rstd = tf.rsqrt(tf.add(variance, BN_EPSILON));
    const xhat = tf.mul(tf.sub(input, mean), rstd);
    record?.({ mean, variance });
    save([xhat, rstd]);
    return {
      value: xhat,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xh, r] = saved as [tf.Tensor, tf.Tensor];
        const centred = tf.sub(dy, tf.mean(dy, axes));
        return tf.mul(tf.sub(centred, tf.mul(xh, tf.mean(tf.mul(dy, xh), axes))), r);
      },
    };
  });
  return normalise(x) as T;
}

/** What 'collect' mode does with a batch's statistics: keeps them under the layer's name. */
function recorder(mode: BnMode, name: string): ((stats: BnStats) => void) | undefined {
  if (mode.kind !== 'collect') return undefined;
  return ({ mean, variance }) => {
    const list = mode.out.get(name) ?? [];
    list.push({ mean: tf.keep(mean), variance: tf.keep(variance) });
    mode.out.set(name, list);
  };
}

/** x normalised per channel by the mode's statistics (see {@link BnMode}). */
function normalised<T extends tf.Tensor>(mode: BnMode, name: string, x: T): T {
  if (mode.kind === 'fixed') {
    const s = mode.stats.get(name);
    if (!s) throw new Error(`no standing statistics for batch norm '${name}'`);
    return tf.mul(tf.sub(x, s.mean), tf.rsqrt(tf.add(s.variance, BN_EPSILON)));
  }
  return batchNormalised(x, recorder(mode, name));
}

/**
 * normalised(x)·γ + β. With batch statistics, on a backend that has the fused kernels, one op
 * whose values and gradients equal the composite ops' bit for bit (fusedBatchNorm.ts); γ and β
 * are [C], or [B, C] per sample.
 */
function affineNormalised<T extends tf.Tensor>(
  mode: BnMode,
  name: string,
  x: T,
  gamma: tf.Tensor,
  beta: tf.Tensor,
): T {
  if (mode.kind !== 'fixed' && hasFusedBatchNorm()) {
    return fusedBatchNorm(x, gamma, beta, BN_EPSILON, recorder(mode, name));
  }
  // Per sample: [B, 1, …, C] so the modulation broadcasts over the spatial axes, if any.
  const shape = (t: tf.Tensor) =>
    t.rank === 1
      ? t
      : tf.reshape(
          t,
          x.shape.map((d, i) => (i === 0 || i === x.rank - 1 ? d : 1)),
        );
  return tf.add(tf.mul(normalised(mode, name, x), shape(gamma)), shape(beta)) as T;
}

/** Batch norm with learned per-channel scale `${name}.gamma` and offset `${name}.beta`. */
export function batchNorm<T extends tf.Tensor>(p: TensorMap, name: string, x: T, mode: BnMode): T {
  return affineNormalised(mode, name, x, param(p, `${name}.gamma`), param(p, `${name}.beta`));
}

/**
 * Conditional batch norm (de Vries et al. 2017; BigGAN): normalise, then scale by
 * 1 + cond·Wγ and shift by cond·Wβ, per sample, so the condition modulates every block of G.
 */
export function conditionalBatchNorm<T extends tf.Tensor2D | tf.Tensor4D>(
  p: TensorMap,
  name: string,
  x: T,
  cond: tf.Tensor2D,
  mode: BnMode,
): T {
  const gamma = tf.add(1, dense(p, `${name}.gain`, cond));
  return affineNormalised(mode, name, x, gamma, dense(p, `${name}.shift`, cond));
}

/** Maxout (Goodfellow et al. 2013): the max over `pieces` linear pieces per unit. */
export function maxout(
  p: TensorMap,
  name: string,
  x: tf.Tensor2D,
  units: number,
  pieces: number,
): tf.Tensor2D {
  const y = dense(p, name, x);
  return tf.max(tf.reshape(y, [x.shape[0], units, pieces]), 2);
}

/** The mean of the batch-norm statistics recorded in `collect` mode: the standing statistics. */
export function averageStats(collected: Map<string, BnStats[]>): Map<string, BnStats> {
  const out = new Map<string, BnStats>();
  for (const [name, list] of collected) {
    out.set(name, {
      mean: tf.tidy(() => tf.div(tf.addN(list.map((s) => s.mean)), list.length)),
      variance: tf.tidy(() => tf.div(tf.addN(list.map((s) => s.variance)), list.length)),
    });
    for (const s of list) {
      s.mean.dispose();
      s.variance.dispose();
    }
  }
  return out;
}
