import * as tf from '@tensorflow/tfjs-core';
import type { ImageDataset } from './dataset';

/** Copies the images at `indices` into one NHWC tensor. */
export function gatherBatch(ds: ImageDataset, indices: ArrayLike<number>): tf.Tensor4D {
  const size = ds.height * ds.width * ds.channels;
  const data = new Float32Array(indices.length * size);
  for (let i = 0; i < indices.length; i++) {
    const index = checkedIndex(ds, indices[i]);
    data.set(ds.images.subarray(index * size, (index + 1) * size), i * size);
  }
  return tf.tensor4d(data, [indices.length, ds.height, ds.width, ds.channels]);
}

/** The int32 labels at `indices`; the data set must be labelled. */
export function gatherLabels(ds: ImageDataset, indices: ArrayLike<number>): tf.Tensor1D {
  const labels = ds.labels;
  if (labels === undefined) {
    throw new Error(`gatherLabels: the data set has no labels (${ds.description})`);
  }
  const data = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    data[i] = labels[checkedIndex(ds, indices[i])] ?? 0;
  }
  return tf.tensor1d(data, 'int32');
}

/** What a dense y is made of: the images' tags (multi-hot) or their sidecar vectors. */
export type DenseConditionKind = 'tags' | 'vector';

/** Width of the dense y of `kind` for this data set; 0 when it has none. */
export function conditionDim(ds: ImageDataset, kind: DenseConditionKind): number {
  const c = ds.conditions;
  if (!c) return 0;
  return kind === 'tags' ? c.tagNames.length : c.vectorDim;
}

/** The dense y (tags as 0/1 floats, or vectors) of the images at `indices`, row after row. */
export function gatherConditionRows(
  ds: ImageDataset,
  kind: DenseConditionKind,
  indices: ArrayLike<number>,
): Float32Array {
  const c = ds.conditions;
  const d = conditionDim(ds, kind);
  if (!c || d === 0) throw new Error(`the data set has no ${kind} (${ds.description})`);
  const out = new Float32Array(indices.length * d);
  for (let i = 0; i < indices.length; i++) {
    const index = checkedIndex(ds, indices[i]);
    if (kind === 'tags') {
      for (let j = 0; j < d; j++) out[i * d + j] = c.tags[index * d + j] ?? 0;
    } else {
      out.set(c.vectors.subarray(index * d, (index + 1) * d), i * d);
    }
  }
  return out;
}

function checkedIndex(ds: ImageDataset, index: number | undefined): number {
  if (index === undefined || !Number.isInteger(index) || index < 0 || index >= ds.count) {
    throw new RangeError(`image index ${index} is outside 0..${ds.count - 1}`);
  }
  return index;
}
