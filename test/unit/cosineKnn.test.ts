import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend/backendChain';
import {
  exactCosineKnn,
  knnForQueries,
  l2Normalise,
  type KnnResult,
} from '../../src/core/neighbours/cosineKnn';
import { UserError } from '../../src/core/errors';
import { Rng } from '../../src/core/random/rng';

function randomUnitRows(rng: Rng, n: number, d: number): Float32Array {
  return l2Normalise(rng.normals(n * d), n, d);
}

/**
 * Rows with exactly four non-zero entries of ±0.5 (unit norm): every dot product is a multiple
 * of 0.25, exact in float32 whatever the summation order, so ties are exact and plentiful.
 */
function quantisedRows(rng: Rng, n: number, d: number): Float32Array {
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const picked = new Set<number>();
    while (picked.size < 4) picked.add(rng.int(d));
    for (const c of picked) out[i * d + c] = rng.uniform() < 0.5 ? -0.5 : 0.5;
  }
  return out;
}

function copyRow(features: Float32Array, d: number, from: number, to: number): void {
  features.copyWithin(to * d, from * d, (from + 1) * d);
}

interface Reference {
  indices: number[][];
  sims: number[][];
  /** All Float64 similarities of each query, to judge near-ties. */
  all: Float64Array[];
}

/** Brute force in Float64: sort every candidate by (similarity desc, index asc). */
function bruteForce(
  db: Float32Array,
  n: number,
  queries: Float32Array,
  nq: number,
  d: number,
  k: number,
  excludeSelf: boolean,
): Reference {
  const ref: Reference = { indices: [], sims: [], all: [] };
  for (let q = 0; q < nq; q++) {
    const sims = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let c = 0; c < d; c++) s += queries[q * d + c]! * db[j * d + c]!;
      sims[j] = s;
    }
    const order = [...Array(n).keys()]
      .filter((j) => !(excludeSelf && j === q))
      .sort((a, b) => sims[b]! - sims[a]! || a - b)
      .slice(0, k);
    ref.indices.push(order);
    ref.sims.push(order.map((j) => sims[j]!));
    ref.all.push(sims);
  }
  return ref;
}

/** Exact equality: for data whose dot products are exact in float32. */
function assertExactlyEqual(got: KnnResult, ref: Reference, k: number): void {
  ref.indices.forEach((row, q) => {
    assert.deepStrictEqual([...got.indices.subarray(q * k, (q + 1) * k)], row, `row ${q}`);
    assert.deepStrictEqual([...got.similarities.subarray(q * k, (q + 1) * k)], ref.sims[q]);
  });
}

/**
 * Float32 products can swap candidates whose Float64 similarities differ by rounding only, so a
 * differing index must be a near-tie of the reference at that rank.
 */
function assertMatchesUpToRounding(got: KnnResult, ref: Reference, k: number): void {
  const tol = 1e-5;
  let exact = 0;
  ref.indices.forEach((row, q) => {
    for (let p = 0; p < k; p++) {
      const idx = got.indices[q * k + p]!;
      const refSim = ref.sims[q]![p]!;
      assert.ok(Math.abs(got.similarities[q * k + p]! - refSim) < tol, `row ${q} rank ${p}`);
      if (idx === row[p]) exact++;
      else assert.ok(Math.abs(ref.all[q]![idx]! - refSim) < tol, `row ${q} rank ${p}: ${idx}`);
    }
    assert.strictEqual(new Set(got.indices.subarray(q * k, (q + 1) * k)).size, k, 'distinct');
  });
  // Near-ties are rare on random data: most ranks must match exactly.
  assert.ok(exact >= 0.99 * ref.indices.length * k, `only ${exact} exact matches`);
}

describe('exactCosineKnn', () => {
  before(async () => {
    await initBackend('wasm');
  });

  const cases: Array<[n: number, d: number, k: number, blockRows: number | undefined]> = [
    [2, 3, 1, undefined],
    [7, 3, 6, 2],
    [50, 16, 5, 7],
    [257, 33, 12, 64],
    [257, 33, 1, 1],
    [600, 8, 20, 97],
    [1000, 16, 5, undefined],
  ];
  for (const [n, d, k, blockRows] of cases) {
    it(`matches brute force on random data (n=${n}, d=${d}, k=${k}, block=${blockRows})`, async () => {
      const rng = new Rng(n * 31 + d);
      const x = randomUnitRows(rng, n, d);
      const ref = bruteForce(x, n, x, n, d, k, true);
      const self = await exactCosineKnn(x, n, d, k, { blockRows });
      assertMatchesUpToRounding(self, ref, k);
      // The query path (no symmetry trick) with self-exclusion must agree too.
      const viaQueries = await exactCosineKnn(x, n, d, k, {
        blockRows,
        excludeSelf: true,
        queries: { features: x, n },
      });
      assertMatchesUpToRounding(viaQueries, ref, k);
    });
  }

  for (const blockRows of [1, 13, 64, undefined]) {
    it(`breaks exact ties by smaller index (quantised rows, block=${blockRows})`, async () => {
      const n = 300;
      const d = 8;
      const k = 25;
      const rng = new Rng(7);
      const x = quantisedRows(rng, n, d);
      copyRow(x, d, 5, 200);
      copyRow(x, d, 5, 201);
      const ref = bruteForce(x, n, x, n, d, k, true);
      const got = await exactCosineKnn(x, n, d, k, { blockRows });
      assertExactlyEqual(got, ref, k);
      // Duplicates are neighbours of each other (exclusion is by index), in index order.
      assert.deepStrictEqual([...got.indices.subarray(5 * k, 5 * k + 2)], [200, 201]);
      assert.deepStrictEqual([...got.indices.subarray(201 * k, 201 * k + 2)], [5, 200]);
      const viaQueries = await exactCosineKnn(x, n, d, k, {
        blockRows,
        excludeSelf: true,
        queries: { features: x, n },
      });
      assertExactlyEqual(viaQueries, ref, k);
    });
  }

  it('keeps self when excludeSelf is false, ties ordered by index', async () => {
    const n = 120;
    const d = 8;
    const k = 10;
    const x = quantisedRows(new Rng(3), n, d);
    copyRow(x, d, 40, 3);
    const ref = bruteForce(x, n, x, n, d, k, false);
    const got = await exactCosineKnn(x, n, d, k, { excludeSelf: false, blockRows: 17 });
    assertExactlyEqual(got, ref, k);
    // Row 40 is tied at similarity 1 with its duplicate 3, which has the smaller index.
    assert.deepStrictEqual([...got.indices.subarray(40 * k, 40 * k + 2)], [3, 40]);
  });

  it('excludes self on random data with duplicated rows', async () => {
    const n = 90;
    const d = 12;
    const k = 4;
    const x = randomUnitRows(new Rng(11), n, d);
    copyRow(x, d, 10, 60);
    const got = await exactCosineKnn(x, n, d, k, { blockRows: 8 });
    for (let i = 0; i < n; i++) {
      assert.ok(!got.indices.subarray(i * k, (i + 1) * k).includes(i), `row ${i} has itself`);
    }
    assert.strictEqual(got.indices[10 * k], 60);
    assert.strictEqual(got.indices[60 * k], 10);
  });

  it('looks up unseen queries against the database', async () => {
    const rng = new Rng(5);
    const n = 400;
    const nq = 37;
    const d = 16;
    const k = 7;
    const db = randomUnitRows(rng, n, d);
    const queries = randomUnitRows(rng, nq, d);
    const ref = bruteForce(db, n, queries, nq, d, k, false);
    const got = await knnForQueries(db, n, d, queries, nq, k, { blockRows: 10 });
    assert.strictEqual(got.indices.length, nq * k);
    assertMatchesUpToRounding(got, ref, k);
    // k = n is allowed when nothing is excluded.
    const all = await knnForQueries(db, n, d, queries.subarray(0, 3 * d), 3, n);
    assert.strictEqual(all.indices.length, 3 * n);
  });

  it('reports kthDistance as 1 − similarity of the k-th neighbour', async () => {
    const n = 64;
    const d = 8;
    const k = 6;
    const x = randomUnitRows(new Rng(2), n, d);
    const got = await exactCosineKnn(x, n, d, k, { blockRows: 9 });
    for (let i = 0; i < n; i++) {
      assert.strictEqual(got.kthDistance[i], Math.fround(1 - got.similarities[i * k + k - 1]!));
      const row = got.similarities.subarray(i * k, (i + 1) * k);
      for (let p = 1; p < k; p++) assert.ok(row[p - 1]! >= row[p]!, 'descending');
    }
    // Hand case: on the unit circle at 0°, 90°, 180°, the nearest other of 0° is 90° (cos 0).
    const circle = new Float32Array([1, 0, 0, 1, -1, 0]);
    const c = await exactCosineKnn(circle, 3, 2, 1);
    assert.deepStrictEqual([...c.indices], [1, 0, 1]);
    assert.deepStrictEqual([...c.kthDistance], [1, 1, 1]);
  });

  it('rejects a k the data cannot satisfy with a UserError naming k and n', async () => {
    const x = randomUnitRows(new Rng(1), 5, 4);
    const bad: Array<[k: number, excludeSelf: boolean]> = [
      [5, true],
      [6, false],
      [0, true],
      [-1, false],
      [2.5, true],
    ];
    for (const [k, excludeSelf] of bad) {
      await assert.rejects(
        async () => exactCosineKnn(x, 5, 4, k, { excludeSelf }),
        (err: unknown) =>
          err instanceof UserError && err.message.includes(`k = ${k}`) && /n = 5/.test(err.message),
      );
    }
    await assert.doesNotReject(async () => exactCosineKnn(x, 5, 4, 4));
    await assert.doesNotReject(async () => exactCosineKnn(x, 5, 4, 5, { excludeSelf: false }));
  });

  it('rejects NaN features and mismatched shapes', async () => {
    const x = randomUnitRows(new Rng(1), 5, 4);
    x[9] = NaN;
    await assert.rejects(async () => exactCosineKnn(x, 5, 4, 2), /row 2 contains NaN/);
    await assert.rejects(async () => exactCosineKnn(new Float32Array(7), 2, 4, 1), RangeError);
  });

  it('l2Normalise scales rows to unit norm and leaves zero rows zero', () => {
    const x = new Float32Array([3, 4, 0, 0, -2, 0]);
    assert.deepStrictEqual(
      [...l2Normalise(x, 3, 2)],
      [0.6000000238418579, 0.800000011920929, 0, 0, -1, 0],
    );
    assert.deepStrictEqual([...x], [3, 4, 0, 0, -2, 0], 'input untouched');
  });

  it('disposes every tensor', async () => {
    const rng = new Rng(9);
    const x = randomUnitRows(rng, 100, 8);
    const before = tf.memory().numTensors;
    await exactCosineKnn(x, 100, 8, 5, { blockRows: 13 });
    await exactCosineKnn(x, 100, 8, 5);
    await knnForQueries(x, 100, 8, randomUnitRows(rng, 10, 8), 10, 3, { blockRows: 4 });
    await assert.rejects(async () => exactCosineKnn(x, 100, 8, 100));
    assert.strictEqual(tf.memory().numTensors, before);
  });
});
