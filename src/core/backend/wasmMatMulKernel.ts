// tfjs-backend-wasm 4.22 sends a BatchMatMul to XNNPACK (SIMD, and threaded with the threaded
// build) only without transposeA/transposeB and with batch 1; every other case runs a scalar C++
// loop, about 10× slower. The gradient of every dense layer y = x·W is such a case
// (dW = xᵀ·dy, dx = dy·Wᵀ), as are similarity products a·bᵀ. This wrapper materialises the
// transposed operand with the backend's Transpose (a memory copy) and calls the stock kernel
// without the flag, which then takes the XNNPACK path. Batched products are left to the stock
// kernel.
//
// Like wasmConvKernels.ts it composes backend kernel functions: every intermediate is a backend
// TensorInfo freed before the kernel returns.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

type Info = tf.TensorInfo;
type KernelParams = Parameters<tf.KernelFunc>[0];

const BACKEND = 'wasm';

/** The kernel this one replaced: it still does all the multiplying. */
let stock: tf.KernelConfig | undefined;

/** Registers the transpose-materialising BatchMatMul for 'wasm'. Safe to call repeatedly. */
export function registerWasmMatMulKernel(): void {
  const current = tf.getKernel(tf.BatchMatMul, BACKEND);
  if (current === undefined || current.kernelFunc === config.kernelFunc) return;
  stock = current;
  tf.unregisterKernel(tf.BatchMatMul, BACKEND);
  tf.registerKernel(config);
}

/** Puts the stock kernel back (for comparisons). */
export function unregisterWasmMatMulKernel(): void {
  const current = tf.getKernel(tf.BatchMatMul, BACKEND);
  if (current?.kernelFunc !== config.kernelFunc || stock === undefined) return;
  tf.unregisterKernel(tf.BatchMatMul, BACKEND);
  tf.registerKernel(stock);
}

function batchMatMul(params: KernelParams): Info {
  if (stock === undefined) throw new Error('BatchMatMul (wasm): the stock kernel is missing');
  const stockKernel = stock.kernelFunc;
  const attrs = params.attrs as unknown as tf.BatchMatMulAttrs;
  const { a, b } = params.inputs as { a?: Info; b?: Info };
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

const config: tf.KernelConfig = {
  kernelName: tf.BatchMatMul,
  backendName: BACKEND,
  kernelFunc: batchMatMul as tf.KernelFunc,
  // The stock kernel binds its C++ function in its setup; the engine only sets up registered ones.
  setupFunc: (backend) => stock?.setupFunc?.(backend),
};

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
