import * as tf from '@tensorflow/tfjs-core';
import type { InstanceIndex } from '../instances/instanceIndex';
import type { Conditioning, GanModel } from '../models/ganModel';

/**
 * What images are generated from, as plain arrays (one entry per image): the form the CLI,
 * galleries and the dashboard build conditions in, before they become tensors.
 */
export interface ConditionArrays {
  /** Class per image (class-conditional models). */
  labels?: Int32Array | null;
  /** Instance features per image, n × featureDim (instance-conditioned models). */
  instances?: Float32Array | null;
  /** Dense y per image, n × conditionDim: tags (0/1) or vectors (model.condition). */
  vectors?: Float32Array | null;
}

/** Tensors for images [start, start + count) of `c`, for the parts the model uses. */
export function conditionTensors(
  model: GanModel,
  c: ConditionArrays,
  start: number,
  count: number,
): Conditioning {
  const out: Conditioning = {};
  if (model.numClasses > 0) {
    if (!c.labels) throw new Error(`model '${model.type}' needs a class per image`);
    out.labels = tf.tensor1d(c.labels.subarray(start, start + count), 'int32');
  }
  if (model.featureDim > 0) {
    if (!c.instances) throw new Error(`model '${model.type}' needs instance features per image`);
    const d = model.featureDim;
    out.instance = tf.tensor2d(c.instances.subarray(start * d, (start + count) * d), [count, d]);
  }
  if (model.conditionDim > 0) {
    if (!c.vectors) throw new Error(`model '${model.type}' needs a condition vector per image`);
    const d = model.conditionDim;
    out.vector = tf.tensor2d(c.vectors.subarray(start * d, (start + count) * d), [count, d]);
  }
  return out;
}

/** Rows `indices` of an n × d feature matrix, concatenated. */
export function gatherRows(
  features: Float32Array,
  d: number,
  indices: ArrayLike<number>,
): Float32Array {
  const out = new Float32Array(indices.length * d);
  for (let i = 0; i < indices.length; i++) {
    const row = indices[i] as number;
    out.set(features.subarray(row * d, (row + 1) * d), i * d);
  }
  return out;
}

/**
 * The class or tags/vector that training paired with instances `rows` (their own), for the parts
 * of y the model has; instance i is training image i.
 */
export function ownConditions(
  model: GanModel,
  index: InstanceIndex,
  rows: ArrayLike<number>,
): Pick<ConditionArrays, 'labels' | 'vectors'> {
  const labels = index.labels;
  const list = Array.from(rows);
  return {
    labels: model.numClasses > 0 && labels ? Int32Array.from(list, (i) => labels[i] ?? 0) : null,
    vectors:
      model.conditionDim > 0 && index.conditions
        ? gatherRows(index.conditions, index.conditionDim, list)
        : null,
  };
}
