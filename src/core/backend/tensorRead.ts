import * as tf from '@tensorflow/tfjs-core';

/**
 * Reads a tensor's values without blocking. GPU backends (webgpu) cannot read synchronously in
 * Node — `dataSync()` throws there — so every read the engine makes goes through `data()`.
 */
export async function readFloats(t: tf.Tensor): Promise<Float32Array> {
  return (await t.data()) as Float32Array;
}

/** Reads a tensor the caller no longer needs, then disposes it (also when the read fails). */
export async function takeFloats(t: tf.Tensor): Promise<Float32Array> {
  try {
    return (await t.data()) as Float32Array;
  } finally {
    t.dispose();
  }
}

/** As takeFloats, for integer results (argMax, labels). */
export async function takeInts(t: tf.Tensor): Promise<Int32Array> {
  try {
    return (await t.data()) as Int32Array;
  } finally {
    t.dispose();
  }
}
