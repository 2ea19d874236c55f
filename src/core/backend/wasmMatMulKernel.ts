// BatchMatMul for tfjs-backend-wasm 4.22, which sends a product to XNNPACK (SIMD, and threaded
// with the threaded build) only without transposeA/transposeB and with batch 1; every other case
// runs a scalar C++ loop, about 10× slower. Two paths:
//  - Small products and batched ones run on our own kernel (native/icganKernels.c `matmul`),
//    which reads either operand transposed through strides. XNNPACK creates its operator and
//    packs the weights on every call and wakes its thread pool: for the tiny products of a dense
//    or spectral-norm layer and its gradient ([1040, 1]·[1, 1], [48, 16]·[16, 1], 144 per demo
//    step) that overhead was most of BatchMatMul's 24 ms per step.
//  - Larger batch-1 products with a transposed operand (the gradient of every dense layer
//    y = x·W is one: dW = xᵀ·dy, dx = dy·Wᵀ, as is the conv input gradient's dy·Wᵀ) have that
//    operand materialised by the backend's Transpose (a memory copy) and go to the stock kernel
//    without the flag, which then takes the XNNPACK path.
//
// Like wasmConvKernels.ts it composes backend kernel functions: every intermediate is a backend
// TensorInfo freed before the kernel returns.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { KernelSwap } from './kernelSwap';
import { heapOffset, NativeKernels } from './wasmNativeKernels';

type Info = tf.TensorInfo;
type KernelParams = Parameters<tf.KernelFunc>[0];

const BACKEND = 'wasm';

/**
 * Batch-1 products with transposeB of at most this many multiply-adds (m·n·k) run on our kernel,
 * larger ones on XNNPACK. Measured on the 2-core machine (2 threads) in isolation: ours 2–50×
 * faster up to 2^18, about even at 2^20 (64–150 µs each way), XNNPACK up to 2× faster from 2^21
 * without a transpose; in a demo training step the products up to 2^20 cost 4–8 ms with ours
 * against 24 ms on XNNPACK.
 */
const NATIVE_MAX_WORK = 1 << 20;

/**
 * The bound without transposeB. Ours then sums each output over k in order, as XNNPACK's GEMM
 * does — the same bits (test/unit/wasmSmallMatMul.test.ts) — and inside a training step
 * XNNPACK's pool has gone to sleep between calls: the demo's 2^21 products (G's dense layer and
 * its weight gradient) took 0.55–0.6 ms there against ~0.4 ms on ours.
 */
const IN_ORDER_MAX_WORK = 1 << 22;

/** A bound that replaces both (tests), or null. */
let forcedMaxWork: number | null = null;
let nativeEnabled = true;

/**
 * Sets the size (m·n·k) up to which every batch-1 product runs on our kernel (0: none, Infinity:
 * all; tests use both), or null for the defaults ({@link NATIVE_MAX_WORK} with transposeB,
 * {@link IN_ORDER_MAX_WORK} without); returns the previous setting. Batched products always
 * run on ours: the stock kernel's loop for them is scalar.
 */
export function setNativeMatMulMaxWork(work: number | null): number | null {
  const previous = forcedMaxWork;
  forcedMaxWork = work;
  return previous;
}

/**
 * Registers our BatchMatMul for 'wasm'. Safe to call repeatedly. `native: false` keeps every
 * product on the stock kernel (ICGAN_WASM_NATIVE=0); without options the setting is unchanged.
 */
export function registerWasmMatMulKernel(options: { native?: boolean } = {}): void {
  if (options.native !== undefined) nativeEnabled = options.native;
  swap.install();
}

/** Puts the stock kernel back (for comparisons). */
export function unregisterWasmMatMulKernel(): void {
  swap.restore();
}

function batchMatMul(params: KernelParams): Info {
  // The kernel this one replaced: it still does all the multiplying XNNPACK is good at.
  const stockKernel = (p: KernelParams): Info => swap.runStock(tf.BatchMatMul, p);
  const attrs = params.attrs as unknown as tf.BatchMatMulAttrs;
  const { a, b } = params.inputs as { a?: Info; b?: Info };
  const plan = a !== undefined && b !== undefined ? planNative(a, b, attrs) : null;
  if (plan !== null) return nativeMatMul(params.backend as BackendWasm, a as Info, b as Info, plan);
  if (
    a === undefined ||
    b === undefined ||
    (!attrs.transposeA && !attrs.transposeB) ||
    a.dtype !== 'float32' ||
    b.dtype !== 'float32' ||
    batchSize(a) !== 1 ||
    batchSize(b) !== 1
  ) {
    return stockKernel(params) as Info;
  }
  const backend = params.backend as BackendWasm;
  const temps: Info[] = [];
  try {
    const a2 = attrs.transposeA ? keep(temps, swapLastAxes(backend, a)) : a;
    const b2 = attrs.transposeB ? keep(temps, swapLastAxes(backend, b)) : b;
    return stockKernel({
      inputs: { a: a2, b: b2 },
      backend,
      attrs: { ...params.attrs, transposeA: false, transposeB: false },
    }) as Info;
  } finally {
    for (const t of temps) backend.disposeData(t.dataId);
  }
}

const swap = new KernelSwap(BACKEND, [[tf.BatchMatMul, batchMatMul]]);

/** A product for native/icganKernels.c's `matmul`: c[batch, m, n] from [·, m, k]·[·, k, n]. */
export interface NativeMatMulPlan {
  m: number;
  n: number;
  k: number;
  batch: number;
  /** Elements from one batch entry of the operand to the next: 0 broadcasts it. */
  strideA: number;
  strideB: number;
  transposeA: boolean;
  transposeB: boolean;
  outShape: number[];
}

/** How our kernel computes a·b, or null for the stock kernel (or XNNPACK through it). */
export function planNative(a: Info, b: Info, attrs: tf.BatchMatMulAttrs): NativeMatMulPlan | null {
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return null;
  const ra = a.shape.length;
  const rb = b.shape.length;
  if (ra < 2 || rb < 2) return null;
  const [a0, a1] = [a.shape[ra - 2] as number, a.shape[ra - 1] as number];
  const [b0, b1] = [b.shape[rb - 2] as number, b.shape[rb - 1] as number];
  const [m, k] = attrs.transposeA === true ? [a1, a0] : [a0, a1];
  const [kb, n] = attrs.transposeB === true ? [b1, b0] : [b0, b1];
  if (k !== kb || m * n * k === 0) return null;
  const outer = tf.backend_util.assertAndGetBroadcastShape(
    a.shape.slice(0, -2),
    b.shape.slice(0, -2),
  );
  const batch = tf.util.sizeFromShape(outer);
  if (batch === 0) return null;
  const batchA = batchSize(a);
  const batchB = batchSize(b);
  // Either the batch axes line up one to one or one operand is a single matrix; other broadcasts
  // (e.g. [2, 1] against [1, 3]) are not a stride.
  if ((batchA !== batch && batchA !== 1) || (batchB !== batch && batchB !== 1)) return null;
  const bound = forcedMaxWork ?? (attrs.transposeB === true ? NATIVE_MAX_WORK : IN_ORDER_MAX_WORK);
  if (!nativeEnabled || (batch === 1 && m * n * k > bound)) return null;
  return {
    m,
    n,
    k,
    batch,
    strideA: batchA === 1 ? 0 : m * k,
    strideB: batchB === 1 ? 0 : k * n,
    transposeA: attrs.transposeA === true,
    transposeB: attrs.transposeB === true,
    outShape: [...outer, m, n],
  };
}

function nativeMatMul(backend: BackendWasm, a: Info, b: Info, p: NativeMatMulPlan): Info {
  const out = backend.makeOutput(p.outShape, 'float32');
  NativeKernels.for(backend).run(
    'matmul',
    [
      heapOffset(backend, a),
      heapOffset(backend, b),
      heapOffset(backend, out),
      p.batch,
      p.strideA,
      p.strideB,
      p.m,
      p.n,
      p.k,
      +p.transposeA,
      +p.transposeB,
    ],
    // Waking the pool paid off from about 2^20 multiply-adds (measured, 2 threads); 2^20 / 64
    // is the pool's element threshold.
    (p.batch * p.m * p.n * p.k) / 64,
  );
  return out;
}

function keep(temps: Info[], t: Info): Info {
  temps.push(t);
  return t;
}

/** The product of all but the last two dimensions. */
function batchSize(t: Info): number {
  return t.shape.slice(0, -2).reduce((n, d) => n * d, 1);
}

function swapLastAxes(backend: BackendWasm, x: Info): Info {
  const rank = x.shape.length;
  const perm = [...Array(rank).keys()];
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  const transpose = tf.getKernel(tf.Transpose, BACKEND);
  if (transpose === undefined) throw new Error("kernel 'Transpose' is not registered for wasm");
  return transpose.kernelFunc({ inputs: { x }, backend, attrs: { perm } }) as Info;
}
