import * as tf from '@tensorflow/tfjs-core';
import type { BnStats } from '../models/layers';
import type { VariableMap } from '../models/paramStore';
import type { RngState } from '../random/rng';
import type { TensorRecord } from './checkpointFile';

/**
 * What a GAN checkpoint holds and how its tensors are named: the training session writes it, and
 * sampling, the tagger and resume read it. Kept here, below all of them, so a reader of
 * checkpoints needs nothing from the training code.
 */

/** What a checkpoint stores besides tensors. */
export interface CheckpointMeta {
  step: number;
  modelType: string;
  zDim: number;
  numClasses: number;
  /** Size of the instance features (IC-GAN), 0 otherwise. */
  featureDim: number;
  classNames: string[] | null;
  /** model.condition; absent in checkpoints from before it existed ('class'). */
  condition?: 'class' | 'tags' | 'vector';
  /** Size of the dense y (tags or vector), 0 otherwise. */
  conditionDim?: number;
  /** The tag vocabulary, in y's order, for models conditioned on tags. */
  tagNames?: string[] | null;
  /**
   * A few real images' y (one per sample-grid row), so a grid can be drawn from the run without
   * its data set.
   */
  conditionExamples?: number[][];
  resolution: number;
  channels: 1 | 3;
  rng: RngState;
  gIterations: number;
  dIterations: number;
  emaUpdates: number;
  time: string;
}

/** The weight groups a checkpoint stores: generator, discriminator, EMA generator. */
export type WeightGroup = 'G' | 'D' | 'EMA';

/** The tensor-name prefix of a weight group ('G/', 'D/', 'EMA/'). */
export function weightPrefix(group: WeightGroup): string {
  return `${group}/`;
}

/** Names of the standing batch-norm statistics of layer `layer`. */
export function statsTensorNames(layer: string): { mean: string; variance: string } {
  return { mean: `stats/${layer}/mean`, variance: `stats/${layer}/variance` };
}

/** Assigns saved values to variables, checking that each exists with the same shape. */
export function assignAll(
  vars: VariableMap,
  tensors: ReadonlyMap<string, TensorRecord>,
  prefix: string,
): void {
  for (const [name, v] of vars) {
    const rec = tensors.get(prefix + name);
    if (!rec || rec.shape.join(',') !== v.shape.join(',')) {
      throw new Error(
        `checkpoint tensor '${prefix}${name}' is ${rec ? `[${rec.shape.join(', ')}]` : 'missing'}, expected [${v.shape.join(', ')}]`,
      );
    }
    tf.tidy(() => v.assign(tf.tensor(rec.data, rec.shape)));
  }
}

/** Reads the standing statistics stored in a checkpoint. */
export function statsFromCheckpoint(
  tensors: ReadonlyMap<string, TensorRecord>,
): Map<string, BnStats> {
  const out = new Map<string, BnStats>();
  for (const [name, rec] of tensors) {
    const m = /^stats\/(.+)\/mean$/.exec(name);
    if (!m?.[1]) continue;
    const variance = tensors.get(statsTensorNames(m[1]).variance);
    if (!variance)
      throw new Error(`checkpoint has a mean but no variance for batch norm '${m[1]}'`);
    out.set(m[1], {
      mean: tf.tensor(rec.data, rec.shape),
      variance: tf.tensor(variance.data, variance.shape),
    });
  }
  return out;
}
