// Identity, and Cast to the dtype a tensor already has, as aliases of their input's buffer (a
// reference count, as tfjs-wasm's own Reshape does) instead of a copy. tfjs's engine clones every
// tensor a gradient saves for the backward pass through Identity, and gradients cast float32
// operands to float32: the demo's training step ran 363 Identity and 58 Cast kernels, each a
// malloc and a copy, ~4.4 ms of a ~80 ms step. Sharing is safe because nothing on the wasm
// backend writes into an existing buffer: every kernel, the project's own included
// (wasmUpdateKernels.ts), writes a fresh output, and Variable.assign swaps buffers.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { KernelSwap } from './kernelSwap';

type Info = tf.TensorInfo;
type KernelParams = Parameters<tf.KernelFunc>[0];

const BACKEND = 'wasm';

function alias(backend: BackendWasm, x: Info): Info {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

function identity(params: KernelParams): Info {
  const x = params.inputs['x'];
  if (x === undefined) throw new Error("Identity (wasm): missing input 'x'");
  // Strings live outside the heap; the stock kernel copies them.
  if (x.dtype === 'string') return swap.runStock(tf.Identity, params);
  return alias(params.backend as BackendWasm, x);
}

function cast(params: KernelParams): Info {
  const x = params.inputs['x'];
  if (x === undefined) throw new Error("Cast (wasm): missing input 'x'");
  const { dtype } = params.attrs as unknown as tf.CastAttrs;
  if (dtype !== x.dtype || x.dtype === 'string') return swap.runStock(tf.Cast, params);
  return alias(params.backend as BackendWasm, x);
}

const swap = new KernelSwap(BACKEND, [
  [tf.Identity, identity],
  [tf.Cast, cast],
]);

/** Registers the aliasing Identity and Cast for 'wasm'. Safe to call repeatedly. */
export function registerWasmAliasKernels(): void {
  swap.install();
}

/** Puts the stock (copying) kernels back, for comparisons. */
export function unregisterWasmAliasKernels(): void {
  swap.restore();
}
