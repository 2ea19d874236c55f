import { UserError } from '../errors';
import type { Rng } from '../random/rng';

export interface InstanceDraw {
  /** Conditioning instances i (G gets h_i, D gets h_i). */
  instances: Int32Array;
  /** Real images x_j, each drawn from the neighbourhood A_i of the instance at the same position. */
  neighbours: Int32Array;
}

/**
 * IC-GAN's instance-balanced sampling (Casanova et al. 2021, the official "instance_balance"
 * default): draw an instance uniformly, then one of its k nearest neighbours as the real image.
 * Every instance is equally likely, so p(x) ≈ (1/M) Σ_i p(x | h_i) weighs all neighbourhoods
 * equally, however dense the region of feature space they sit in.
 */
export class InstanceSampler {
  constructor(
    /** n × k neighbour indices, row i = A_i (the instance itself excluded). */
    private readonly neighbourIndices: Int32Array,
    readonly count: number,
    readonly k: number,
  ) {
    if (k < 1 || neighbourIndices.length !== count * k) {
      throw new UserError(
        `neighbourhoods: expected ${count} × ${k} indices, got ${neighbourIndices.length}`,
      );
    }
  }

  /**
   * `batch` draws; with `group` > 1, consecutive groups of that many share one instance (each
   * with its own neighbour), so D's grouped minibatch statistic sees the variety of one
   * neighbourhood next to the variety of G's samples for that instance.
   */
  sample(rng: Rng, batch: number, group = 1): InstanceDraw {
    const instances = new Int32Array(batch);
    const neighbours = new Int32Array(batch);
    let i = 0;
    for (let b = 0; b < batch; b++) {
      if (b % group === 0) i = rng.int(this.count);
      instances[b] = i;
      neighbours[b] = this.neighbourIndices[i * this.k + rng.int(this.k)] ?? i;
    }
    return { instances, neighbours };
  }
}
