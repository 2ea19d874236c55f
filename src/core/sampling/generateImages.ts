import * as tf from '@tensorflow/tfjs-core';
import { takeFloats } from '../backend/tensorRead';
import type { GanModel } from '../models/ganModel';
import type { BnStats } from '../models/layers';
import type { TensorMap } from '../models/paramStore';
import type { InstanceIndex } from '../instances/instanceIndex';
import {
  conditionTensors,
  gatherRows,
  ownConditions,
  type ConditionArrays,
} from './conditionArrays';

const CHUNK = 64;

export interface GeneratedImages {
  /** n × H × W × C floats in [-1, 1]. */
  pixels: Float32Array;
  n: number;
}

/**
 * Runs the generator in inference mode (fixed batch-norm statistics) over given noise and
 * conditions, in chunks so any n fits in memory.
 */
export async function generateImages(
  model: GanModel,
  params: TensorMap,
  stats: ReadonlyMap<string, BnStats>,
  z: Float32Array,
  cond: ConditionArrays,
): Promise<GeneratedImages> {
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
      return model.generate(params, zt, conditionTensors(model, cond, start, count), {
        kind: 'fixed',
        stats,
      });
    });
    pixels.set(await takeFloats(out), start * size);
  }
  return { pixels, n };
}

/** Labels for a grid: one class per row, cycling when there are more rows than classes. */
export function gridLabels(count: number, columns: number, numClasses: number): Int32Array | null {
  if (numClasses === 0) return null;
  return Int32Array.from({ length: count }, (_, i) => Math.floor(i / columns) % numClasses);
}

/** Per grid cell, the index into `rowItems` of its row (cycling), e.g. one instance per row. */
export function gridRows(count: number, columns: number, rowItems: ArrayLike<number>): Int32Array {
  return Int32Array.from(
    { length: count },
    (_, i) => rowItems[Math.floor(i / columns) % rowItems.length] as number,
  );
}

export function gridColumns(count: number): number {
  return Math.ceil(Math.sqrt(count));
}

/**
 * The conditions of a sample grid, one per row: a class for class-conditional models, a real
 * image's tags or vector (`examples`, one row each) for models conditioned on them; for IC-GAN a
 * representative training instance, with its own class or tags for the class-conditional variant.
 */
export function gridConditions(
  model: GanModel,
  count: number,
  columns: number,
  instances: InstanceIndex | null,
  examples: readonly (readonly number[])[] = [],
): ConditionArrays {
  if (model.featureDim > 0 && instances) {
    const rows = gridRows(count, columns, instances.representatives);
    return {
      instances: gatherRows(instances.features, instances.dim, rows),
      ...ownConditions(model, instances, rows),
    };
  }
  if (model.conditionDim > 0) {
    if (examples.length === 0) throw new Error(`model '${model.type}' needs example conditions`);
    const picked = gridRows(count, columns, Int32Array.from(examples.keys()));
    return { vectors: Float32Array.from([...picked].flatMap((i) => [...(examples[i] ?? [])])) };
  }
  return { labels: gridLabels(count, columns, model.numClasses) };
}
