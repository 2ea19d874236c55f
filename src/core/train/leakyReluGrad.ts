import * as tf from '@tensorflow/tfjs-core';

/**
 * The LeakyRelu gradient as one kernel: inputs x (LeakyRelu's input) and dy; output
 * dx = x > 0 ? dy : dy·alpha, the bits of tfjs's where(greater(x, 0), dy, mul(dy, alpha)).
 * tfjs's composition is three kernels and two activation-sized intermediates per activation, a
 * measurable share of a DCGAN step on wasm (docs/performance.md). Backends that register it
 * (wasm: src/core/backend/wasmLeakyGradKernel.ts) run it; everywhere else the gradient is the
 * stock one, unchanged.
 */
export const LEAKY_RELU_GRAD = 'IcganLeakyReluGrad';

export interface LeakyReluGradAttrs {
  alpha: number;
}

let stock: tf.GradConfig | undefined;

function fused(x: tf.Tensor, dy: tf.Tensor): boolean {
  return (
    x.dtype === 'float32' &&
    dy.dtype === 'float32' &&
    tf.getKernel(LEAKY_RELU_GRAD, tf.getBackend()) !== undefined
  );
}

/**
 * Replaces tfjs's LeakyRelu gradient with one that runs {@link LEAKY_RELU_GRAD} where the active
 * backend registers it and tfjs's own gradient function otherwise. An override of the registered
 * gradient rather than a tf.customGrad in the models: the gradient registry is global, so every
 * tf.leakyRelu (the conv critic, the tagger) gets it without a wrapper op on the tape, and the
 * fallback is literally the stock gradient, so cpu, webgpu and wasm with ICGAN_WASM_NATIVE=0
 * compute exactly what they did before. Like tfjs's (Greater has no gradient), the gradient has
 * no gradient of its own: nothing here takes second derivatives. Needs the stock gradients
 * registered first; safe to call repeatedly.
 */
export function registerLeakyReluGradient(): void {
  const current = tf.getGradient(tf.LeakyRelu);
  if (current === undefined) throw new Error('LeakyRelu: the stock gradient is not registered');
  if (current.gradFunc === leakyReluGradConfig.gradFunc) return;
  stock = current;
  tf.registerGradient(leakyReluGradConfig);
}

/** Puts tfjs's own gradient back (for comparisons). */
export function unregisterLeakyReluGradient(): void {
  if (stock === undefined) return;
  tf.registerGradient(stock);
  stock = undefined;
}

const leakyReluGradConfig: tf.GradConfig = {
  kernelName: tf.LeakyRelu,
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved as [tf.Tensor];
    const dyT = dy as tf.Tensor;
    if (!fused(x, dyT)) return (stock as tf.GradConfig).gradFunc(dy, saved, attrs);
    const { alpha } = attrs as unknown as tf.LeakyReluAttrs;
    const kernelAttrs: LeakyReluGradAttrs = { alpha };
    return {
      x: () =>
        tf.engine().runKernel(LEAKY_RELU_GRAD, { x, dy: dyT }, { ...kernelAttrs }) as tf.Tensor,
    };
  },
};
