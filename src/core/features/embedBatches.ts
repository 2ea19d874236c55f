import * as tf from '@tensorflow/tfjs-core';
import { takeFloats } from '../backend/tensorRead';
import { l2Normalise } from '../neighbours/cosineKnn';
import type { ExtractorInput } from './extractorFile';

/** Images per forward pass: bounds memory whatever the data set size. */
export const EMBED_BATCH = 256;

/**
 * Runs `forward` over `images` (n images NHWC of `input`'s shape) in batches and returns the
 * rows L2-normalised, n × dim. Shape mismatches are the caller's bug, hence RangeError.
 */
export async function embedInBatches(
  images: Float32Array,
  n: number,
  input: ExtractorInput,
  dim: number,
  forward: (x: tf.Tensor4D) => tf.Tensor2D,
): Promise<Float32Array> {
  const size = input.height * input.width * input.channels;
  if (!Number.isInteger(n) || n < 0 || images.length !== n * size) {
    throw new RangeError(
      `embed: expected ${n} images of ${input.height}×${input.width}×${input.channels} ` +
        `(${n * size} values), got ${images.length}`,
    );
  }
  const out = new Float32Array(n * dim);
  for (let start = 0; start < n; start += EMBED_BATCH) {
    const count = Math.min(EMBED_BATCH, n - start);
    const rows = tf.tidy(() => {
      const x = tf.tensor4d(images.subarray(start * size, (start + count) * size), [
        count,
        input.height,
        input.width,
        input.channels,
      ]);
      return forward(x);
    });
    out.set(await takeFloats(rows), start * dim);
  }
  return l2Normalise(out, n, dim);
}
