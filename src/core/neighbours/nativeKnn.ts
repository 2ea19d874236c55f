/**
 * Exact cosine k-NN on ONNX Runtime's CPU kernels (MLAS: AVX2/AVX-512 GEMM on all cores, a
 * native TopK) when the optional `onnxruntime-node` package is installed — ~6× the matrix-product
 * speed of tfjs-wasm here, which is what bounds a search over a training set. Without it, the
 * tfjs path (cosineKnn.ts) runs. Both return the same neighbours, ties included (equal scores:
 * the smaller index first — ONNX TopK's documented tie-break, and the JS selection's).
 */
import * as os from 'node:os';
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import {
  assertFinite,
  assertMatrix,
  assertNeighbourCount,
  exactCosineKnn,
  type KnnOptions,
  type KnnResult,
} from './cosineKnn';
import { ELEM_FLOAT, ELEM_INT64, onnxModel } from './onnxGraph';
import { loadOnnxRuntime, type Ort, type OrtStatus } from './onnxRuntime';

export { loadOnnxRuntime } from './onnxRuntime';

/** Scores of one block of queries against the whole database: at most this many floats. */
const BLOCK_ELEMENTS = 16 * 1024 * 1024;

/** One session per runtime (a test may inject another one). */
const sessions = new WeakMap<Ort, Promise<InferenceSession>>();

/** Q[B,D] · DBT[D,N] → TopK(K) along N: values and indices, best first. */
function topKSession(ort: Ort): Promise<InferenceSession> {
  const existing = sessions.get(ort);
  if (existing) return existing;
  const created = ort.InferenceSession.create(
    onnxModel({
      nodes: [
        { op: 'MatMul', inputs: ['Q', 'DBT'], outputs: ['S'] },
        {
          op: 'TopK',
          inputs: ['S', 'K'],
          outputs: ['V', 'I'],
          ints: { axis: 1, largest: 1, sorted: 1 },
        },
      ],
      inputs: [
        { name: 'Q', elemType: ELEM_FLOAT, dims: ['B', 'D'] },
        { name: 'DBT', elemType: ELEM_FLOAT, dims: ['D', 'N'] },
        { name: 'K', elemType: ELEM_INT64, dims: [1] },
      ],
      outputs: [
        { name: 'V', elemType: ELEM_FLOAT, dims: ['B', 'KK'] },
        { name: 'I', elemType: ELEM_INT64, dims: ['B', 'KK'] },
      ],
    }),
    {
      intraOpNumThreads: Math.max(1, os.availableParallelism?.() ?? os.cpus().length),
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
    },
  );
  sessions.set(ort, created);
  return created;
}

function transpose(m: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[c * rows + r] = m[r * cols + c]!;
  }
  return out;
}

export interface EngineOptions {
  /** 'auto': ONNX Runtime when it loads, else tfjs; 'native' fails without it. */
  engine?: 'auto' | 'native' | 'tfjs';
  /** The runtime to use; default: the installed `onnxruntime-node` (tests inject others). */
  runtime?: OrtStatus;
}

/**
 * `exactCosineKnn` on ONNX Runtime when available, else on tfjs. Same arguments and result; the
 * result says which engine ran and, for tfjs, why ONNX Runtime did not.
 */
export async function cosineKnn(
  features: Float32Array,
  n: number,
  d: number,
  k: number,
  opts: KnnOptions & EngineOptions = {},
): Promise<KnnResult & { engine: 'onnxruntime' | 'tfjs'; fallbackReason: string }> {
  const { ort, reason } = opts.runtime ?? loadOnnxRuntime();
  if (opts.engine === 'tfjs' || (!ort && opts.engine !== 'native')) {
    const fallbackReason = opts.engine === 'tfjs' ? 'the tfjs engine was requested' : reason;
    return { ...(await exactCosineKnn(features, n, d, k, opts)), engine: 'tfjs', fallbackReason };
  }
  if (!ort) throw new Error(reason);
  assertMatrix('features', features, n, d);
  const queries = opts.queries ?? { features, n };
  assertMatrix('query features', queries.features, queries.n, d);
  const excludeSelf = opts.excludeSelf ?? opts.queries === undefined;
  assertNeighbourCount(k, n, excludeSelf);
  assertFinite('features', features, d);
  if (opts.queries) assertFinite('query features', queries.features, d);

  const session = await topKSession(ort);
  const kk = Math.min(n, k + (excludeSelf ? 1 : 0));
  const dbt = new ort.Tensor('float32', transpose(features, n, d), [d, n]);
  const kTensor = new ort.Tensor('int64', BigInt64Array.from([BigInt(kk)]), [1]);
  const rows = opts.blockRows ?? Math.max(1, Math.min(queries.n, Math.floor(BLOCK_ELEMENTS / n)));
  const indices = new Int32Array(queries.n * k);
  const similarities = new Float32Array(queries.n * k);
  const kthDistance = new Float32Array(queries.n);
  for (let start = 0; start < queries.n; start += rows) {
    const count = Math.min(rows, queries.n - start);
    const q = new ort.Tensor('float32', queries.features.subarray(start * d, (start + count) * d), [
      count,
      d,
    ]);
    const out = await session.run({ Q: q, DBT: dbt, K: kTensor });
    const values = (out.V as Tensor).data as Float32Array;
    const found = (out.I as Tensor).data as BigInt64Array;
    for (let r = 0; r < count; r++) {
      const self = start + r;
      let kept = 0;
      for (let j = 0; j < kk && kept < k; j++) {
        const index = Number(found[r * kk + j]);
        if (excludeSelf && index === self) continue;
        indices[self * k + kept] = index;
        similarities[self * k + kept] = values[r * kk + j]!;
        kept++;
      }
      kthDistance[self] = 1 - similarities[self * k + k - 1]!;
    }
  }
  return { indices, similarities, kthDistance, engine: 'onnxruntime', fallbackReason: '' };
}
