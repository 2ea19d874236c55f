import { strict as assert } from 'node:assert';
import { initBackend } from '../../src/core/backend/backendChain';
import { exactCosineKnn, l2Normalise, type KnnResult } from '../../src/core/neighbours/cosineKnn';
import { cosineKnn, loadOnnxRuntime } from '../../src/core/neighbours/nativeKnn';
import { onnxModel } from '../../src/core/neighbours/onnxGraph';
import { Rng } from '../../src/core/random/rng';

/** Features with exact duplicates (ties) and coarse values (near-ties). */
function features(n: number, d: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const x = new Float32Array(n * d);
  for (let i = 0; i < x.length; i++) x[i] = Math.round(rng.normal() * 4) / 4;
  for (let i = 0; i < 20; i++) x.copyWithin((i * 7 + 1) * d, i * d, (i + 1) * d);
  return l2Normalise(x, n, d);
}

function dot(f: Float32Array, d: number, a: number, b: number): number {
  let s = 0;
  for (let c = 0; c < d; c++) s += f[a * d + c]! * f[b * d + c]!;
  return s;
}

/** Same neighbours, position by position, except where two candidates tie to float rounding. */
function assertSameNeighbours(
  a: KnnResult,
  b: KnnResult,
  db: Float32Array,
  queries: Float32Array,
  d: number,
  k: number,
): void {
  let swaps = 0;
  for (let i = 0; i < a.indices.length; i++) {
    assert.ok(Math.abs(a.similarities[i]! - b.similarities[i]!) < 1e-5, `similarity ${i}`);
    if (a.indices[i] === b.indices[i]) continue;
    const q = Math.floor(i / k);
    const sa = dotCross(queries, db, d, q, a.indices[i]!);
    const sb = dotCross(queries, db, d, q, b.indices[i]!);
    assert.ok(
      Math.abs(sa - sb) < 1e-6,
      `row ${q}: ${a.indices[i]} vs ${b.indices[i]} is not a tie`,
    );
    swaps++;
  }
  assert.ok(swaps < a.indices.length / 100, `${swaps} tie swaps`);
}

function dotCross(q: Float32Array, db: Float32Array, d: number, i: number, j: number): number {
  let s = 0;
  for (let c = 0; c < d; c++) s += q[i * d + c]! * db[j * d + c]!;
  return s;
}

describe('exact cosine kNN on ONNX Runtime (optional native engine)', function () {
  before(async function () {
    await initBackend('wasm');
    assert.ok(loadOnnxRuntime().ort, `${loadOnnxRuntime().reason} — npm install installs it`);
  });

  it('finds the same neighbours as the tfjs path, self excluded, ties by index', async () => {
    const n = 700;
    const d = 24;
    const f = features(n, d, 3);
    const native = await cosineKnn(f, n, d, 7);
    assert.equal(native.engine, 'onnxruntime');
    const reference = await exactCosineKnn(f, n, d, 7);
    assertSameNeighbours(native, reference, f, f, d, 7);
    for (let i = 0; i < n; i++) assert.ok(!native.indices.subarray(i * 7, i * 7 + 7).includes(i));
    // Exact duplicates are each other's nearest neighbour at similarity 1.
    assert.equal(native.indices[1 * 7], 0);
    assert.ok(Math.abs(native.kthDistance[5]! - (1 - native.similarities[5 * 7 + 6]!)) < 1e-7);
    assert.ok(dot(f, d, 0, 1) > 0.9999);
  });

  it('searches unseen queries, in blocks, and keeps the user-facing errors', async () => {
    const n = 500;
    const d = 16;
    const db = features(n, d, 4);
    const q = features(37, d, 5);
    const opts = { queries: { features: q, n: 37 }, blockRows: 8 };
    const native = await cosineKnn(db, n, d, 5, opts);
    assert.equal(native.engine, 'onnxruntime');
    assertSameNeighbours(native, await exactCosineKnn(db, n, d, 5, opts), db, q, d, 5);
    await assert.rejects(cosineKnn(db, n, d, n), /cannot find k = 500 neighbours among n = 500/);
    const forced = await cosineKnn(db, n, d, 5, { engine: 'tfjs' });
    assert.equal(forced.engine, 'tfjs');
  });

  it('encodes only what protobuf allows', () => {
    assert.throws(
      () =>
        onnxModel({
          nodes: [{ op: 'TopK', inputs: ['S', 'K'], outputs: ['V', 'I'], ints: { axis: -1 } }],
          inputs: [],
          outputs: [],
        }),
      /varint -1/,
    );
  });
});
