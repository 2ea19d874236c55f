import { strict as assert } from 'node:assert';
import { InstanceSampler } from '../../src/core/instances/instanceSampler';
import { UserError } from '../../src/core/errors';
import { Rng } from '../../src/core/random/rng';

describe('instance-balanced sampling', () => {
  // 4 instances with k = 2: A_0 = {1, 2}, A_1 = {0, 2}, A_2 = {3, 1}, A_3 = {2, 0}.
  const table = Int32Array.from([1, 2, 0, 2, 3, 1, 2, 0]);

  it('pairs every instance only with its own neighbours', () => {
    const s = new InstanceSampler(table, 4, 2);
    const { instances, neighbours } = s.sample(new Rng(1), 2000);
    for (let b = 0; b < instances.length; b++) {
      const i = instances[b] as number;
      assert.ok(
        [table[2 * i], table[2 * i + 1]].includes(neighbours[b]),
        `instance ${i} drew ${neighbours[b]}`,
      );
    }
  });

  it('draws instances uniformly and neighbours uniformly within A_i', () => {
    const s = new InstanceSampler(table, 4, 2);
    const n = 40000;
    const { instances, neighbours } = s.sample(new Rng(2), n);
    const perInstance = [0, 0, 0, 0];
    const firstNeighbour = [0, 0, 0, 0];
    for (let b = 0; b < n; b++) {
      const i = instances[b] as number;
      perInstance[i] = (perInstance[i] ?? 0) + 1;
      if (neighbours[b] === table[2 * i]) firstNeighbour[i] = (firstNeighbour[i] ?? 0) + 1;
    }
    // Binomial standard deviations are ~87 (instances) and ~50 (neighbours): 5σ bounds.
    for (let i = 0; i < 4; i++) {
      assert.ok(Math.abs((perInstance[i] ?? 0) - n / 4) < 450, `instance ${i}: ${perInstance[i]}`);
      assert.ok(Math.abs((firstNeighbour[i] ?? 0) - (perInstance[i] ?? 0) / 2) < 250);
    }
  });

  it('is deterministic for a seed and rejects a table of the wrong size', () => {
    const a = new InstanceSampler(table, 4, 2).sample(new Rng(9), 50);
    const b = new InstanceSampler(table, 4, 2).sample(new Rng(9), 50);
    assert.deepEqual(a, b);
    assert.throws(() => new InstanceSampler(table, 5, 2), UserError);
  });
});
