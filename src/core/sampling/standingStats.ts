import * as tf from '@tensorflow/tfjs-core';
import type { GanModel } from '../models/ganModel';
import { averageStats, type BnStats } from '../models/layers';
import type { TensorMap } from '../models/paramStore';
import { Rng } from '../random/rng';
import { conditionTensors, gatherRows } from './conditionArrays';

const BATCHES = 4;

/**
 * The images' dense y, read on demand: a data set's tags as floats, or its vectors, would
 * otherwise be copied whole (60,000 images × 1,000 tags is 240 MB).
 */
export interface ConditionSource {
  count: number;
  /** The y of images `indices`, row after row. */
  rows(indices: ArrayLike<number>): Float32Array;
}
const BATCH_SIZE = 64;

/**
 * "Standing statistics" (Brock et al. 2019): batch-norm statistics of the EMA generator averaged
 * over a few random batches. Sampling with them makes an image independent of the other images
 * in its batch — one image from `icgan generate` looks as it would in a grid of 64. The noise,
 * classes and instances are seeded so the same weights always give the same statistics.
 * `instanceFeatures` (n × featureDim) are the instances to draw from for IC-GAN models;
 * `conditions` gives the real images' tags or vectors for models conditioned on them — random
 * multi-hot vectors would give statistics of conditions G never sees. With both, an instance
 * comes with its own y (instance i is image i).
 */
export function computeStandingStats(
  model: GanModel,
  params: TensorMap,
  seed: number,
  instanceFeatures?: Float32Array,
  conditions?: ConditionSource,
): Map<string, BnStats> {
  const collected = new Map<string, BnStats[]>();
  for (const draw of standingStatsDraws(model, seed, instanceFeatures, conditions)) {
    tf.tidy(() => {
      const cond = conditionTensors(model, draw, 0, BATCH_SIZE);
      model.generate(params, tf.tensor2d(draw.z, [BATCH_SIZE, model.zDim]), cond, {
        kind: 'collect',
        out: collected,
      });
    });
  }
  return averageStats(collected);
}

/** One batch the standing statistics are averaged over: noise and the conditions it goes with. */
export interface StandingDraw {
  z: Float32Array;
  labels: Int32Array | null;
  instances: Float32Array | null;
  vectors: Float32Array | null;
}

/** The seeded batches of computeStandingStats (apart so the parity harness can replay them). */
export function standingStatsDraws(
  model: GanModel,
  seed: number,
  instanceFeatures?: Float32Array,
  conditions?: ConditionSource,
): StandingDraw[] {
  const rng = new Rng(seed);
  const instanceCount =
    instanceFeatures && model.featureDim > 0 ? instanceFeatures.length / model.featureDim : 0;
  const conditionCount = conditions && model.conditionDim > 0 ? conditions.count : 0;
  if (model.conditionDim > 0 && conditionCount === 0) {
    throw new Error(`model '${model.type}' needs the images' conditions for its statistics`);
  }
  const draws: StandingDraw[] = [];
  for (let b = 0; b < BATCHES; b++) {
    const z = rng.normals(BATCH_SIZE * model.zDim);
    const labels = model.numClasses > 0 ? rng.ints(BATCH_SIZE, model.numClasses) : null;
    const pool = instanceCount > 0 ? instanceCount : conditionCount;
    // Drawn only when used, so models without instances or y keep their seeded stream.
    const picked = pool > 0 ? rng.ints(BATCH_SIZE, pool) : new Int32Array(0);
    const instances =
      instanceFeatures && instanceCount > 0
        ? gatherRows(instanceFeatures, model.featureDim, picked)
        : null;
    const vectors = conditions && conditionCount > 0 ? conditions.rows(picked) : null;
    draws.push({ z, labels, instances, vectors });
  }
  return draws;
}

export function disposeStats(stats: ReadonlyMap<string, BnStats>): void {
  for (const s of stats.values()) {
    s.mean.dispose();
    s.variance.dispose();
  }
}
