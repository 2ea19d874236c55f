import * as tf from '@tensorflow/tfjs-core';

/**
 * A fixed pseudo-random float32 tensor (an LCG from `seed`), values uniform in [−low, 2 − low):
 * the kernel tests compare our kernels with stock ones on the same inputs, run after run.
 * A `low` below 1 offsets the values from zero, as activations are, which makes cancellation in
 * sums visible.
 */
export function fixedTensor(shape: number[], seed: number, low = 1): tf.Tensor {
  const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
  let s = seed >>> 0;
  for (let i = 0; i < values.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    values[i] = 2 * (s / 2 ** 32) - low;
  }
  return tf.tensor(values, shape);
}

/** Tensors the engine tracks plus buffers the backend holds: both must stay flat. */
export function liveTensors(): number {
  return tf.memory().numTensors + tf.engine().backend.numDataIds();
}
