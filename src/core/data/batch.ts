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

function checkedIndex(ds: ImageDataset, index: number | undefined): number {
  if (index === undefined || !Number.isInteger(index) || index < 0 || index >= ds.count) {
    throw new RangeError(`image index ${index} is outside 0..${ds.count - 1}`);
  }
  return index;
}
