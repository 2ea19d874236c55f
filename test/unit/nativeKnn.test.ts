import { strict as assert } from 'node:assert';
import { initBackend } from '../../src/core/backend/backendChain';
import { exactCosineKnn, l2Normalise, type KnnResult } from '../../src/core/neighbours/cosineKnn';
import { cosineKnn, loadOnnxRuntime } from '../../src/core/neighbours/nativeKnn';
import { onnxModel } from '../../src/core/neighbours/onnxGraph';
import { probeOnnxRuntime, requireOnnxRuntime } from '../../src/core/neighbours/onnxRuntime';
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

/** Platforms onnxruntime-node 1.30 ships CPU binaries for (none for darwin-x64). */
const ORT_PLATFORMS = ['linux-x64', 'linux-arm64', 'darwin-arm64', 'win32-x64', 'win32-arm64'];

function notFound(what: string): Error {
  return Object.assign(new Error(`Cannot find module '${what}'\nRequire stack:\n- x.js`), {
    code: 'MODULE_NOT_FOUND',
  });
}

describe('loading the optional onnxruntime-node (injected loaders)', () => {
  before(async () => {
    await initBackend('wasm');
  });

  it('absent: tfjs searches, and the reason says the package is not installed', async () => {
    const runtime = probeOnnxRuntime(() => {
      throw notFound('onnxruntime-node');
    });
    assert.deepEqual(runtime, { ort: null, reason: 'onnxruntime-node is not installed' });
    const f = features(60, 8, 1);
    const found = await cosineKnn(f, 60, 8, 3, { runtime });
    assert.equal(found.engine, 'tfjs');
    assert.equal(found.fallbackReason, 'onnxruntime-node is not installed');
    assert.deepEqual(found.indices, (await exactCosineKnn(f, 60, 8, 3)).indices);
    await assert.rejects(
      cosineKnn(f, 60, 8, 3, { runtime, engine: 'native' }),
      /onnxruntime-node is not installed/,
    );
  });

  it('installed without a binary for this platform, or a binary that fails: says which', () => {
    const noBinary = probeOnnxRuntime(() => {
      throw notFound('../bin/napi-v6/darwin/x64/onnxruntime_binding.node');
    });
    assert.equal(
      noBinary.reason,
      `onnxruntime-node has no native binary for ${process.platform}-${process.arch}`,
    );
    const broken = probeOnnxRuntime(() => {
      throw new Error('libonnxruntime.so.1: cannot open shared object file\nmore');
    });
    assert.equal(
      broken.reason,
      'onnxruntime-node failed to load: libonnxruntime.so.1: cannot open shared object file',
    );
    const wrongApi = probeOnnxRuntime(() => ({ Tensor: class {} }));
    assert.match(wrongApi.reason, /has no InferenceSession\/Tensor API/);
    assert.equal(wrongApi.ort, null);
  });

  it('present: the default loader finds the installed package (npm install installs it)', function () {
    const platform = `${process.platform}-${process.arch}`;
    if (!ORT_PLATFORMS.includes(platform)) {
      console.log(`    onnxruntime-node ships no binaries for ${platform}: tfjs search only`);
      this.skip();
    }
    const runtime = probeOnnxRuntime(requireOnnxRuntime);
    assert.ok(runtime.ort, `${runtime.reason} — npm install installs it`);
    assert.equal(runtime.reason, '');
    assert.equal(loadOnnxRuntime().ort, runtime.ort);
  });
});

describe('exact cosine kNN on ONNX Runtime (optional native engine)', function () {
  before(async function () {
    await initBackend('wasm');
    if (!loadOnnxRuntime().ort) {
      // Only where the package has no binary (the loader suite above fails everywhere else).
      console.log(`    ${loadOnnxRuntime().reason}: skipping the native engine's results`);
      this.skip();
    }
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
    assert.equal(forced.fallbackReason, 'the tfjs engine was requested');
    assert.equal(native.fallbackReason, '');
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
