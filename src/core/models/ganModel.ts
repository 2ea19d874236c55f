import type * as tf from '@tensorflow/tfjs-core';
import type { ModelType } from '../config/types';
import type { BnMode } from './layers';
import type { TensorMap, VariableMap } from './paramStore';

/** What a generated or real image is conditioned on; fields are absent for models that ignore them. */
export interface Conditioning {
  /** int32 class labels, one per image. */
  labels?: tf.Tensor1D;
  /** Instance features h (L2-normalised), one row per image: IC-GAN's conditioning. */
  instance?: tf.Tensor2D;
  /** A dense y per image: multi-hot tags or a data vector (model.condition 'tags' / 'vector'). */
  vector?: tf.Tensor2D;
}

/** Shape of the images a model produces and consumes. */
export interface ImageShape {
  resolution: number;
  channels: 1 | 3;
}

/**
 * A generator/discriminator pair as forward functions over named parameters. The training loop,
 * sampling and checkpoints use only this interface, whatever the architecture.
 */
export interface GanModel {
  readonly type: ModelType;
  readonly zDim: number;
  /** Number of classes for label-conditional models, 0 otherwise. */
  readonly numClasses: number;
  /** Size of the dense y (tags: the vocabulary; vector: its length), 0 for other models. */
  readonly conditionDim: number;
  /** Size of the instance features h for instance-conditioned models, 0 otherwise. */
  readonly featureDim: number;
  readonly image: ImageShape;
  readonly generatorParams: VariableMap;
  readonly discriminatorParams: VariableMap;
  /** Images in [-1, 1], [B, H, W, C]. `params` is the generator's map or its EMA copy. */
  generate(params: TensorMap, z: tf.Tensor2D, cond: Conditioning, bn: BnMode): tf.Tensor4D;
  /** Logits, [B]. */
  discriminate(params: TensorMap, x: tf.Tensor4D, cond: Conditioning): tf.Tensor1D;
  /**
   * Whether D may judge a real and a fake batch of `batch` images as one batch of 2·batch (real
   * first) with the same logits as two calls: true when nothing in D mixes images across the
   * halves (no batch norm; minibatch-std groups that stay inside one half). Absent: never.
   */
  judgesTogether?(batch: number): boolean;
  /** Weight of D's AC-GAN class loss; 0 or absent when D has no class head. */
  readonly classifierWeight?: number;
  /** The logits and, with a class head, the class logits [B, classes] from the same features. */
  discriminateWithClasses?(
    params: TensorMap,
    x: tf.Tensor4D,
    cond: Conditioning,
  ): { logits: tf.Tensor1D; classLogits?: tf.Tensor2D };
}
