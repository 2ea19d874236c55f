import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend/backendChain';
import { l2Normalise } from '../../src/core/neighbours/cosineKnn';
import { sphericalKmeans, type KmeansResult } from '../../src/core/neighbours/kmeans';
import { UserError } from '../../src/core/errors';
import { Rng } from '../../src/core/random/rng';

interface Blobs {
  features: Float32Array;
  truth: Int32Array;
}

/** `clusters` tight blobs around random directions, samples interleaved so order carries no hint. */
function sphereBlobs(seed: number, clusters: number, perCluster: number, d: number): Blobs {
  const rng = new Rng(seed);
  const centres = l2Normalise(rng.normals(clusters * d), clusters, d);
  const n = clusters * perCluster;
  const raw = new Float32Array(n * d);
  const truth = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % clusters;
    truth[i] = c;
    for (let j = 0; j < d; j++) raw[i * d + j] = centres[c * d + j]! + 0.05 * rng.normal();
  }
  return { features: l2Normalise(raw, n, d), truth };
}

function dot(a: Float32Array, i: number, b: Float32Array, j: number, d: number): number {
  let s = 0;
  for (let c = 0; c < d; c++) s += a[i * d + c]! * b[j * d + c]!;
  return s;
}

function assertValidResult(
  r: KmeansResult,
  x: Float32Array,
  n: number,
  d: number,
  k: number,
): void {
  assert.strictEqual(new Set(r.representatives).size, k, 'distinct representatives');
  const counts = new Array<number>(k).fill(0);
  for (const c of r.assignment) counts[c]!++;
  assert.ok(
    counts.every((c) => c > 0),
    'no empty cluster',
  );
  for (let c = 0; c < k; c++) {
    const rep = r.representatives[c]!;
    assert.strictEqual(r.assignment[rep], c, `representative of ${c} is a member`);
    const repSim = dot(x, rep, r.centroids, c, d);
    for (let i = 0; i < n; i++) {
      if (r.assignment[i] !== c) continue;
      const s = dot(x, i, r.centroids, c, d);
      assert.ok(
        s < repSim || (s === repSim && i >= rep),
        `member ${i} beats representative of ${c}`,
      );
    }
  }
}

describe('sphericalKmeans', () => {
  before(async () => {
    await initBackend('wasm');
  });

  it('recovers well-separated clusters on the sphere', async () => {
    const k = 6;
    const d = 16;
    const { features, truth } = sphereBlobs(1, k, 50, d);
    const n = truth.length;
    for (const seed of [0, 1, 2, 3]) {
      const r = await sphericalKmeans(features, n, d, k, seed);
      assert.ok(r.converged);
      // Same partition up to relabelling: a bijection between true and found labels.
      const map = new Map<number, number>();
      for (let i = 0; i < n; i++) {
        const found = map.get(truth[i]!);
        if (found === undefined) map.set(truth[i]!, r.assignment[i]!);
        else assert.strictEqual(r.assignment[i], found, `seed ${seed}: sample ${i} split off`);
      }
      assert.strictEqual(new Set(map.values()).size, k, `seed ${seed}: clusters merged`);
      for (let c = 0; c < k; c++) {
        let sq = 0;
        for (let j = 0; j < d; j++) sq += r.centroids[c * d + j]! ** 2;
        assert.ok(Math.abs(sq - 1) < 1e-5, 'unit centroid');
      }
      assertValidResult(r, features, n, d, k);
    }
  });

  it('picks as representative the member nearest each centroid', async () => {
    const n = 300;
    const d = 8;
    const k = 10;
    const x = l2Normalise(new Rng(4).normals(n * d), n, d);
    assertValidResult(await sphericalKmeans(x, n, d, k, 7), x, n, d, k);
  });

  it('is deterministic for a seed', async () => {
    const n = 400;
    const d = 12;
    const x = l2Normalise(new Rng(8).normals(n * d), n, d);
    const a = await sphericalKmeans(x, n, d, 9, 123);
    const b = await sphericalKmeans(x, n, d, 9, 123);
    assert.deepStrictEqual(a, b);
  });

  it('keeps clusters non-empty and representatives distinct on duplicated data', async () => {
    const d = 4;
    const x = l2Normalise(
      new Float32Array(Array.from({ length: 10 * d }, (_, i) => (i % 2) + 1)),
      10,
      d,
    );
    const r = await sphericalKmeans(x, 10, d, 4, 1);
    assertValidResult(r, x, 10, d, 4);
    // One cluster per sample: every sample represents itself.
    const all = await sphericalKmeans(x, 10, d, 10, 1);
    assert.deepStrictEqual(
      [...all.representatives].sort((p, q) => p - q),
      [...Array(10).keys()],
    );
  });

  it('rejects more clusters than samples with a UserError', async () => {
    const x = l2Normalise(new Rng(1).normals(5 * 3), 5, 3);
    await assert.rejects(
      async () => sphericalKmeans(x, 5, 3, 6, 0),
      (e: unknown) => e instanceof UserError && /6 clusters.*n = 5/.test(e.message),
    );
    await assert.rejects(async () => sphericalKmeans(x, 5, 3, 0, 0), UserError);
  });

  it('disposes every tensor', async () => {
    const x = l2Normalise(new Rng(1).normals(200 * 8), 200, 8);
    const before = tf.memory().numTensors;
    await sphericalKmeans(x, 200, 8, 5, 0);
    assert.strictEqual(tf.memory().numTensors, before);
  });
});
