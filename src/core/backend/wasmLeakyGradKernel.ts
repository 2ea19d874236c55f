// The LeakyRelu gradient (src/core/train/leakyReluGrad.ts) as one native wasm kernel
// (native/icganKernels.c leaky_relu_grad): one pass over x and dy instead of tfjs's Greater,
// Multiply and Select, with no intermediates. A kernel of our own name: where it is not
// registered (other backends, ICGAN_WASM_NATIVE=0) the stock gradient runs.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { LEAKY_RELU_GRAD, type LeakyReluGradAttrs } from '../train/leakyReluGrad';
import { heapOffset, NativeKernels } from './wasmNativeKernels';
import { OwnKernels } from './ownKernels';

type Info = tf.TensorInfo;
type KernelParams = Parameters<tf.KernelFunc>[0];

const BACKEND = 'wasm';

function leakyReluGrad(params: KernelParams): Info {
  const { x, dy } = params.inputs as { x?: Info; dy?: Info };
  if (x === undefined || dy === undefined) throw new Error(`${LEAKY_RELU_GRAD}: missing input`);
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') {
    throw new Error(`${LEAKY_RELU_GRAD}: x is ${x.dtype} and dy ${dy.dtype}, not float32`);
  }
  if (!tf.util.arraysEqual(x.shape, dy.shape)) {
    throw new Error(`${LEAKY_RELU_GRAD}: x [${x.shape}] and dy [${dy.shape}] differ`);
  }
  const { alpha } = params.attrs as unknown as LeakyReluGradAttrs;
  const backend = params.backend as BackendWasm;
  const out = backend.makeOutput(x.shape, 'float32');
  const size = tf.util.sizeFromShape(x.shape);
  if (size === 0) return out;
  NativeKernels.for(backend).run(
    'leaky_relu_grad',
    [heapOffset(backend, x), heapOffset(backend, dy), heapOffset(backend, out), size, alpha],
    size,
  );
  return out;
}

const kernels = new OwnKernels(BACKEND, [[LEAKY_RELU_GRAD, leakyReluGrad as tf.KernelFunc]]);

/** Registers the fused LeakyRelu gradient for 'wasm'. Safe to call repeatedly. */
export function registerWasmLeakyGradKernel(): void {
  kernels.register();
}

/** Removes it, so that the stock composition runs (for comparisons). */
export function unregisterWasmLeakyGradKernel(): void {
  kernels.unregister();
}
