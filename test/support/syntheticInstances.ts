import type { InstanceIndex } from '../../src/core/instances/instanceIndex';
import { l2Normalise } from '../../src/core/neighbours/cosineKnn';
import { Rng } from '../../src/core/random/rng';

/**
 * A stand-in instance index of the right size for timing and backend comparisons: unit-norm
 * random features and fixed neighbourhoods. A training step costs, and computes, the same on
 * every backend whatever the features are, so no extractor or k-NN search has to run first.
 */
export function syntheticInstances(count: number, dim: number, k: number): InstanceIndex {
  const neighbours = new Int32Array(count * k);
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < k; j++) neighbours[i * k + j] = (i + 1 + j * 97) % count;
  }
  return {
    count,
    dim,
    k,
    features: l2Normalise(new Rng(7).normals(count * dim), count, dim),
    neighbours,
    kthDistance: new Float32Array(count),
    representatives: new Int32Array(0),
    labels: null,
    conditions: null,
    conditionDim: 0,
  };
}
