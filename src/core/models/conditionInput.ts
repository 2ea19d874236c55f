import * as tf from '@tensorflow/tfjs-core';
import type { Conditioning } from './ganModel';

/** A model's y: classes (one-hot) or a dense condition (tags, vector); at most one is non-zero. */
export interface ConditionSize {
  numClasses: number;
  conditionDim: number;
}

/** Width of y as the model's weights see it. */
export function conditionWidth(size: ConditionSize): number {
  return size.numClasses > 0 ? size.numClasses : size.conditionDim;
}

/**
 * y as a dense [B, width] matrix: the one-hot class, or the tags / vector as given. One form for
 * both lets the class embedding, the tag embedding and a vector's linear map be one weight.
 */
export function denseCondition(
  modelType: string,
  size: ConditionSize,
  cond: Conditioning,
): tf.Tensor2D {
  if (size.numClasses > 0) {
    if (!cond.labels) throw new Error(`model '${modelType}' needs class labels`);
    // A one-hot product rather than tf.gather: gather's gradient needs UnsortedSegmentSum, which
    // the WASM backend lacks, and with a handful of classes the product costs nothing.
    return tf.cast(tf.oneHot(cond.labels, size.numClasses), 'float32') as tf.Tensor2D;
  }
  if (!cond.vector || cond.vector.shape[1] !== size.conditionDim) {
    throw new Error(
      `model '${modelType}' needs a condition vector of ${size.conditionDim} per image` +
        (cond.vector ? `, got ${cond.vector.shape[1]}` : ''),
    );
  }
  return cond.vector;
}
