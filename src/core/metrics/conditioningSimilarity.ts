import type { FeatureExtractor } from '../features/featureExtractor';
import type { InstanceIndex } from '../instances/instanceIndex';
import type { GanModel } from '../models/ganModel';
import type { BnStats } from '../models/layers';
import type { TensorMap } from '../models/paramStore';
import { Rng } from '../random/rng';
import { gatherRows, ownConditions } from '../sampling/conditionArrays';
import { generateImages } from '../sampling/generateImages';

export interface ConditioningSimilarity {
  /** Mean cosine similarity between f(G(z, h_i)) and h_i. */
  own: number;
  /** Mean cosine similarity between f(G(z, h_i)) and h_j for a random other instance j. */
  random: number;
  instances: number;
  samplesPerInstance: number;
}

/**
 * Does instance conditioning work? Samples generated from instance i should lie nearer h_i in
 * feature space than a random instance's h_j does; with the conditioning ignored, both means
 * are the same. Computed in the run's own feature space (the extractor that made h).
 */
export async function conditioningSimilarity(
  model: GanModel,
  params: TensorMap,
  stats: ReadonlyMap<string, BnStats>,
  index: InstanceIndex,
  extractor: FeatureExtractor,
  opts: { instances: number; samplesPerInstance: number; seed: number },
): Promise<ConditioningSimilarity> {
  const rng = new Rng(opts.seed);
  const m = opts.samplesPerInstance;
  const picked = rng.ints(opts.instances, index.count);
  const rows = Int32Array.from(
    { length: picked.length * m },
    (_, i) => picked[Math.floor(i / m)] as number,
  );
  const images = await generateImages(model, params, stats, rng.normals(rows.length * model.zDim), {
    instances: gatherRows(index.features, index.dim, rows),
    ...ownConditions(model, index, rows),
  });
  const f = await extractor.embed(images.pixels, rows.length);
  const d = index.dim;
  let own = 0;
  let random = 0;
  for (let s = 0; s < rows.length; s++) {
    const i = rows[s] as number;
    let j = rng.int(index.count - 1);
    if (j >= i) j++;
    own += dot(f, s, index.features, i, d);
    random += dot(f, s, index.features, j, d);
  }
  return {
    own: own / rows.length,
    random: random / rows.length,
    instances: picked.length,
    samplesPerInstance: m,
  };
}

function dot(a: Float32Array, ai: number, b: Float32Array, bi: number, d: number): number {
  let sum = 0;
  for (let c = 0; c < d; c++) sum += (a[ai * d + c] as number) * (b[bi * d + c] as number);
  return sum;
}
