import * as tf from '@tensorflow/tfjs-core';
import type { TensorMap, VariableMap } from '../models/paramStore';

/**
 * The decay used at update `t`: the configured one, capped early at (1 + t) / (10 + t) (as
 * TensorFlow's ExponentialMovingAverage does with num_updates) so that short runs are not
 * dominated by the random initial weights.
 */
export function emaDecayAt(decay: number, t: number): number {
  return Math.min(decay, (1 + t) / (10 + t));
}

/**
 * One parameter's EMA update as one kernel: inputs ema, p; output ema·decay + p·(1 − decay),
 * exactly as {@link updateEma}'s composite ops compute it. Registered by some backends (wasm:
 * src/core/backend/wasmUpdateKernels.ts) to save per-op overhead; the composite ops run elsewhere.
 */
export const EMA_UPDATE = 'IcganEmaUpdate';

export interface EmaUpdateAttrs {
  decay: number;
}

/** ema ← d·ema + (1 − d)·params, for every parameter. */
export function updateEma(ema: VariableMap, params: TensorMap, decay: number): void {
  const fused = tf.getKernel(EMA_UPDATE, tf.getBackend()) !== undefined;
  const attrs: EmaUpdateAttrs = { decay };
  tf.tidy(() => {
    for (const [name, e] of ema) {
      const p = params.get(name);
      if (!p) throw new Error(`EMA has no source for '${name}'`);
      e.assign(
        fused
          ? (tf.engine().runKernel(EMA_UPDATE, { ema: e, p }, { ...attrs }) as tf.Tensor)
          : tf.add(tf.mul(e, decay), tf.mul(p, 1 - decay)),
      );
    }
  });
}
