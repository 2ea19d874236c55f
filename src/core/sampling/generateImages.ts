import * as tf from '@tensorflow/tfjs-core';
import type { GanModel } from '../models/ganModel';
import type { BnStats } from '../models/layers';
import type { TensorMap } from '../models/paramStore';

const CHUNK = 64;

export interface GeneratedImages {
  /** n × H × W × C floats in [-1, 1]. */
  pixels: Float32Array;
  n: number;
}

/**
 * Runs the generator in inference mode (fixed batch-norm statistics) over given noise and labels,
 * in chunks so any n fits in memory.
 */
export function generateImages(
  model: GanModel,
  params: TensorMap,
  stats: ReadonlyMap<string, BnStats>,
  z: Float32Array,
  labels: Int32Array | null,
): GeneratedImages {
  const n = z.length / model.zDim;
  const { resolution: r, channels: c } = model.image;
  const size = r * r * c;
  const pixels = new Float32Array(n * size);
  for (let start = 0; start < n; start += CHUNK) {
    const count = Math.min(CHUNK, n - start);
    const out = tf.tidy(() => {
      const zt = tf.tensor2d(z.subarray(start * model.zDim, (start + count) * model.zDim), [
        count,
        model.zDim,
      ]);
      const lt = labels ? tf.tensor1d(labels.subarray(start, start + count), 'int32') : undefined;
      return model.generate(params, zt, { labels: lt }, { kind: 'fixed', stats });
    });
    pixels.set(out.dataSync() as Float32Array, start * size);
    out.dispose();
  }
  return { pixels, n };
}

/** Labels for a grid: one class per row, cycling when there are more rows than classes. */
export function gridLabels(count: number, columns: number, numClasses: number): Int32Array | null {
  if (numClasses === 0) return null;
  return Int32Array.from({ length: count }, (_, i) => Math.floor(i / columns) % numClasses);
}

export function gridColumns(count: number): number {
  return Math.ceil(Math.sqrt(count));
}
