import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend/backendChain';
import { computePrdc } from '../../src/core/metrics/prdc';
import { UserError } from '../../src/core/errors';
import { Rng } from '../../src/core/random/rng';

const f32 = (values: number[]): Float32Array => new Float32Array(values);

describe('computePrdc', () => {
  before(async () => {
    await initBackend('wasm');
  });

  // The hand cases use dyadic coordinates with a dyadic real mean, so every squared distance is
  // exact in float32 and points exactly on a radius test the strict `<`.

  it('1-D, k = 1: a point exactly on a radius is outside', async () => {
    // real X = 0, 1, 3, 4 → radius (nearest other) 1 for every point.
    // fake Y = 0.5, 2, 6, 7 → radii: 0.5→1.5 (to 2), 2→1.5, 6→1 (to 7), 7→1.
    // precision: 0.5 is 0.5 from X=0 ✓; 2 is exactly 1 from X=1 and X=3 ✗; 6, 7 are ≥ 2 away ✗
    //   → 1/4.
    // recall: X=0, 1 within 0.5 of Y=0.5 (< 1.5) ✓; X=3 is 1 from Y=2 (< 1.5) ✓; X=4 is 2 from
    //   Y=2 (radius 1.5) and 2 from Y=6 (radius 1) ✗ → 3/4.
    // density: Y=0.5 lies in the balls of X=0 and X=1, nothing else does → 2 / (k·M) = 2/4.
    // coverage: X=0, 1 have Y=0.5 within 0.5 ✓; X=3's nearest fake (2) is exactly 1 away ✗;
    //   X=4's nearest (6) is 2 away ✗ → 2/4.
    const r = await computePrdc(f32([0, 1, 3, 4]), 4, f32([0.5, 2, 6, 7]), 4, 1, 1);
    assert.deepStrictEqual(r, { precision: 0.25, recall: 0.75, density: 0.5, coverage: 0.5 });
  });

  it('2-D, k = 2: square corners against three near points and an outlier', async () => {
    // real: (0,0), (2,0), (0,2), (2,2); others are at 2, 2, 2√2 → radius (2nd nearest) 2.
    // fake: (1,0), (0,1), (0.5,0.5), (5,5).
    // Balls of the real points containing each fake point (distance < 2):
    //   (1,0): (0,0) and (2,0) at 1; (0,2), (2,2) at √5 ✗ → 2
    //   (0,1): (0,0) and (0,2) at 1 → 2
    //   (0.5,0.5): (0,0) at √0.5, (2,0) and (0,2) at √2.5; (2,2) at √4.5 ≈ 2.12 ✗ → 3
    //   (5,5): nearest real (2,2) at √18 ✗ → 0
    // precision 3/4; density (2+2+3+0)/(2·4) = 7/8.
    // coverage: (2,2)'s nearest fake is (0.5,0.5) at √4.5 > 2 ✗, the other corners have a fake
    //   point at ≤ 1 → 3/4.
    // fake radii (2nd nearest other fake): (1,0) and (0,1): √0.5, √2 → √2; (0.5,0.5): √0.5,
    //   √0.5 → √0.5; (5,5): √40.5, √41 → √41.
    // recall: (0,0), (2,0) are 1 < √2 from (1,0); (0,2) is 1 from (0,1); (2,2) is √18 < √41
    //   from the outlier — its huge radius is recall's known weakness → 4/4.
    const real = f32([0, 0, 2, 0, 0, 2, 2, 2]);
    const fake = f32([1, 0, 0, 1, 0.5, 0.5, 5, 5]);
    const r = await computePrdc(real, 4, fake, 4, 2, 2);
    assert.deepStrictEqual(r, { precision: 0.75, recall: 1, density: 0.875, coverage: 0.75 });
  });

  it('1-D, k = 1: duplicate real samples are each other’s neighbour (radius 0)', async () => {
    // real X = 0, 0, 1, 5 → radii 0, 0 (the duplicate), 1 (to 0), 4 (to 1).
    // fake Y = 0, 3, 8, 1.5 → radii 1.5, 1.5 (to 1.5), 5 (to 3), 1.5.
    // precision: Y=0 is not < 0 from X=0 and is exactly 1 from X=1 ✗; Y=3 is 2 < 4 from X=5 ✓;
    //   Y=8 is 3 < 4 from X=5 ✓; Y=1.5 is 0.5 from X=1 and 3.5 from X=5 ✓ → 3/4.
    // density: 0 + 1 + 1 + 2 = 4 → 4 / (1·4) = 1.
    // coverage: X=0 twice have radius 0 ✗; X=1 has Y=1.5 at 0.5 ✓; X=5 has Y=3 at 2 ✓ → 2/4.
    // recall: X=0, 0 are 0 from Y=0 (< 1.5); X=1 is 1 from Y=0 (< 1.5); X=5 is 3 from Y=8 (< 5)
    //   → 4/4.
    const r = await computePrdc(f32([0, 0, 1, 5]), 4, f32([0, 3, 8, 1.5]), 4, 1, 1);
    assert.deepStrictEqual(r, { precision: 0.75, recall: 1, density: 1, coverage: 0.5 });
  });

  it('identical sets give precision = recall = coverage = 1', async () => {
    const n = 500;
    const d = 64;
    const x = new Rng(3).normals(n * d);
    const r = await computePrdc(x, n, x.slice(), n, d);
    assert.strictEqual(r.precision, 1);
    assert.strictEqual(r.recall, 1);
    assert.strictEqual(r.coverage, 1);
    assert.ok(r.density >= 1 / 5, 'each fake point lies at least in its own twin’s ball');
  });

  it('two independent N(0, I) sets land in the expected range', async () => {
    // papers.md's reference values (P 0.48, R 0.47, D 1.06, C 0.97) are for 10,000 × 1000-d; at
    // 1,000 × 1000-d (to keep this test fast) precision and recall are higher because k-NN radii
    // from fewer samples are relatively larger. Over seeds 1–8 this implementation (equal to the
    // reference code run with numpy on the same draws) gave P 0.55–0.63, R 0.57–0.63,
    // D 0.84–1.10, C 0.94–0.98; the bounds below leave room around that.
    const n = 1000;
    const d = 1000;
    const rng = new Rng(1);
    const r = await computePrdc(rng.normals(n * d), n, rng.normals(n * d), n, d);
    assert.ok(r.precision > 0.45 && r.precision < 0.75, `precision ${r.precision}`);
    assert.ok(r.recall > 0.45 && r.recall < 0.75, `recall ${r.recall}`);
    assert.ok(r.density > 0.7 && r.density < 1.3, `density ${r.density}`);
    assert.ok(r.coverage > 0.9 && r.coverage <= 1, `coverage ${r.coverage}`);
  });

  it('a generator shifted off the data loses precision, density and coverage', async () => {
    const n = 400;
    const d = 32;
    const rng = new Rng(2);
    const real = rng.normals(n * d);
    const fake = rng.normals(n * d).map((v) => v + 3);
    const r = await computePrdc(real, n, fake, n, d);
    assert.deepStrictEqual(r, { precision: 0, recall: 0, density: 0, coverage: 0 });
  });

  it('rejects sets with no more than k samples with a UserError', async () => {
    const x = f32([0, 1, 2, 3, 4]);
    await assert.rejects(
      async () => computePrdc(x, 5, x, 5, 1, 5),
      (e: unknown) => e instanceof UserError && /k = 5/.test(e.message),
    );
    await assert.rejects(async () => computePrdc(x, 5, x.subarray(0, 2), 2, 1, 2), UserError);
    await assert.rejects(async () => computePrdc(x, 5, x, 5, 1, 0), UserError);
  });

  it('disposes every tensor', async () => {
    const rng = new Rng(4);
    const before = tf.memory().numTensors;
    await computePrdc(rng.normals(300 * 8), 300, rng.normals(200 * 8), 200, 8);
    assert.strictEqual(tf.memory().numTensors, before);
  });
});
