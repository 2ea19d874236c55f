import * as tf from '@tensorflow/tfjs-core';
import type { GanModel } from '../models/ganModel';
import { averageStats, type BnStats } from '../models/layers';
import type { TensorMap } from '../models/paramStore';
import { Rng } from '../random/rng';

const BATCHES = 4;
const BATCH_SIZE = 64;

/**
 * "Standing statistics" (Brock et al. 2019): batch-norm statistics of the EMA generator averaged
 * over a few random batches. Sampling with them makes an image independent of the other images
 * in its batch — one image from `icgan generate` looks as it would in a grid of 64. The noise is
 * seeded so the same weights always give the same statistics.
 */
export function computeStandingStats(
  model: GanModel,
  params: TensorMap,
  seed: number,
): Map<string, BnStats> {
  const rng = new Rng(seed);
  const collected = new Map<string, BnStats[]>();
  for (let b = 0; b < BATCHES; b++) {
    tf.tidy(() => {
      const z = tf.tensor2d(rng.normals(BATCH_SIZE * model.zDim), [BATCH_SIZE, model.zDim]);
      const labels =
        model.numClasses > 0
          ? tf.tensor1d(
              Int32Array.from(
                { length: BATCH_SIZE },
                (_, i) => (b * BATCH_SIZE + i) % model.numClasses,
              ),
              'int32',
            )
          : undefined;
      model.generate(params, z, { labels }, { kind: 'collect', out: collected });
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
