import * as tf from '@tensorflow/tfjs-core';
import type { GanModel } from '../models/ganModel';
import { averageStats, type BnStats } from '../models/layers';
import type { TensorMap } from '../models/paramStore';
import { Rng } from '../random/rng';
import { conditionTensors, gatherRows } from './conditionArrays';

const BATCHES = 4;
const BATCH_SIZE = 64;

/**
 * "Standing statistics" (Brock et al. 2019): batch-norm statistics of the EMA generator averaged
 * over a few random batches. Sampling with them makes an image independent of the other images
 * in its batch — one image from `icgan generate` looks as it would in a grid of 64. The noise,
 * classes and instances are seeded so the same weights always give the same statistics.
 * `instanceFeatures` (n × featureDim) are the instances to draw from for IC-GAN models.
 */
export function computeStandingStats(
  model: GanModel,
  params: TensorMap,
  seed: number,
  instanceFeatures?: Float32Array,
): Map<string, BnStats> {
  const rng = new Rng(seed);
  const collected = new Map<string, BnStats[]>();
  const instanceCount =
    instanceFeatures && model.featureDim > 0 ? instanceFeatures.length / model.featureDim : 0;
  for (let b = 0; b < BATCHES; b++) {
    const z = rng.normals(BATCH_SIZE * model.zDim);
    const labels = model.numClasses > 0 ? rng.ints(BATCH_SIZE, model.numClasses) : null;
    const instances =
      instanceFeatures && instanceCount > 0
        ? gatherRows(instanceFeatures, model.featureDim, rng.ints(BATCH_SIZE, instanceCount))
        : null;
    tf.tidy(() => {
      const cond = conditionTensors(model, { labels, instances }, 0, BATCH_SIZE);
      model.generate(params, tf.tensor2d(z, [BATCH_SIZE, model.zDim]), cond, {
        kind: 'collect',
        out: collected,
      });
    });
  }
  return averageStats(collected);
}

export function disposeStats(stats: ReadonlyMap<string, BnStats>): void {
  for (const s of stats.values()) {
    s.mean.dispose();
    s.variance.dispose();
  }
}
