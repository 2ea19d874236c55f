// Batch norm with its affine step, forward and backward, as one tfjs kernel each on native
// kernels (native/icganKernels.c bn_*, colsum_*): layers.ts's batch norms were ~12 tfjs calls
// forward and ~20 backward each (the demo generator's three conditional batch norms: ~190 calls
// per training step), on tensors of 32–130 k floats where the calls cost more than the
// arithmetic. Each statistic and channel sum is taken by the same colsum kernels, with the same
// blocks, as the Mean and Sum kernels (wasmElementwiseKernels.ts) the composite ops ran on, and
// the per-sample sums sequentially as tfjs-wasm's Sum takes them; every other value is one IEEE
// operation in the composite's order. So the results are the composite ops' bit for bit.
//
// Kernels of our own names (src/core/models/fusedBatchNorm.ts), used where registered.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { BATCH_NORM, BATCH_NORM_GRAD, type BatchNormAttrs } from '../models/fusedBatchNorm';
import { columnSums } from './wasmElementwiseKernels';
import { heapOffset, NativeKernels } from './wasmNativeKernels';
import { float32Input, OwnKernels } from './ownKernels';

type Info = tf.TensorInfo;
type KernelParams = Parameters<tf.KernelFunc>[0];

const BACKEND = 'wasm';

/** x as [rows, cols] = [batch · spatial, channels], and γ's layout. */
interface Layout {
  rows: number;
  cols: number;
  batch: number;
  spatial: number;
  perSample: boolean;
}

function layoutOf(kernel: string, x: Info, gamma: Info, perSample: boolean): Layout {
  if (x.shape.length < 2) throw new Error(`${kernel}: x [${x.shape}] has no batch axis`);
  const cols = x.shape[x.shape.length - 1] as number;
  const batch = x.shape[0] as number;
  const rows = tf.util.sizeFromShape(x.shape) / cols;
  const want = perSample ? batch * cols : cols;
  if (tf.util.sizeFromShape(gamma.shape) !== want) {
    throw new Error(`${kernel}: gamma [${gamma.shape}] does not fit x [${x.shape}]`);
  }
  return { rows, cols, batch, spatial: rows / batch, perSample };
}

function batchNorm(params: KernelParams): Info[] {
  const { epsilon, perSample } = params.attrs as unknown as BatchNormAttrs;
  const x = float32Input(BATCH_NORM, params, 'x');
  const gamma = float32Input(BATCH_NORM, params, 'gamma');
  const l = layoutOf(BATCH_NORM, x, gamma, perSample);
  const beta = float32Input(BATCH_NORM, params, 'beta', tf.util.sizeFromShape(gamma.shape));
  const backend = params.backend as BackendWasm;
  const native = NativeKernels.for(backend);
  const at = (t: Info) => heapOffset(backend, t);
  const size = l.rows * l.cols;
  const [y, xhat, mean, variance, rstd] = [x.shape, x.shape, [l.cols], [l.cols], [l.cols]].map(
    (shape) => backend.makeOutput(shape, 'float32'),
  ) as [Info, Info, Info, Info, Info];
  // tf.moments: the mean, then the mean of (x − mean)² (held in y until y is written).
  columnSums(backend, x, null, mean, l.rows, l.cols, 1 / l.rows);
  native.run('bn_sqdev', [at(x), at(mean), at(y), l.rows, l.cols], size);
  columnSums(backend, y, null, variance, l.rows, l.cols, 1 / l.rows);
  native.run('bn_rstd', [at(variance), at(rstd), l.cols, epsilon], 0);
  native.run(
    'bn_apply',
    [
      at(x),
      at(mean),
      at(rstd),
      at(gamma),
      at(beta),
      at(xhat),
      at(y),
      l.rows,
      l.cols,
      l.spatial,
      +perSample,
    ],
    size,
  );
  return [y, xhat, mean, variance, rstd];
}

function batchNormGrad(params: KernelParams): Info[] {
  const { perSample } = params.attrs as unknown as BatchNormAttrs;
  const xhat = float32Input(BATCH_NORM_GRAD, params, 'xhat');
  const gamma = float32Input(BATCH_NORM_GRAD, params, 'gamma');
  const l = layoutOf(BATCH_NORM_GRAD, xhat, gamma, perSample);
  const size = l.rows * l.cols;
  const dy = float32Input(BATCH_NORM_GRAD, params, 'dy', size);
  const rstd = float32Input(BATCH_NORM_GRAD, params, 'rstd', l.cols);
  const backend = params.backend as BackendWasm;
  const native = NativeKernels.for(backend);
  const at = (t: Info) => heapOffset(backend, t);
  const dx = backend.makeOutput(xhat.shape, 'float32');
  const dgamma = backend.makeOutput(gamma.shape, 'float32');
  const dbeta = backend.makeOutput(gamma.shape, 'float32');
  const m1 = backend.makeOutput([l.cols], 'float32');
  const m2 = backend.makeOutput([l.cols], 'float32');
  try {
    // ∂x̂ = dy·γ, held in dx until dx is written; per sample also ∂γ and ∂β.
    native.run(
      'bn_grad_affine',
      [
        at(dy),
        at(xhat),
        at(gamma),
        at(dx),
        at(dgamma),
        at(dbeta),
        l.batch,
        l.spatial,
        l.cols,
        +perSample,
      ],
      size,
    );
    if (!perSample) {
      columnSums(backend, dy, xhat, dgamma, l.rows, l.cols, 1);
      columnSums(backend, dy, null, dbeta, l.rows, l.cols, 1);
    }
    columnSums(backend, dx, null, m1, l.rows, l.cols, 1 / l.rows);
    columnSums(backend, dx, xhat, m2, l.rows, l.cols, 1 / l.rows);
    native.run(
      'bn_grad_input',
      [at(dx), at(xhat), at(m1), at(m2), at(rstd), at(dx), l.rows, l.cols],
      size,
    );
  } finally {
    backend.disposeData(m1.dataId);
    backend.disposeData(m2.dataId);
  }
  return [dx, dgamma, dbeta];
}

const kernels = new OwnKernels(BACKEND, [
  [BATCH_NORM, batchNorm as tf.KernelFunc],
  [BATCH_NORM_GRAD, batchNormGrad as tf.KernelFunc],
]);

/** Registers both kernels for 'wasm'. Safe to call repeatedly. */
export function registerWasmBatchNormKernels(): void {
  kernels.register();
}

/** Removes them, so that batch norm runs its composite ops (for comparisons). */
export function unregisterWasmBatchNormKernels(): void {
  kernels.unregister();
}
