// Spectral normalisation's power-iteration step and its gradient as one wasm kernel call each
// (native/icganKernels.c spectral_norm, spectral_norm_grad). As tfjs ops they are ~13 calls
// forward and ~8 backward per weight; a spectrally normalised D has one per layer and the demo
// step runs it three times, on vectors of 16–1,040 floats: ~250 kernel calls per step whose
// overhead, not their arithmetic, was the cost. The kernels take every product and sum in the
// order the composite path's kernels do, so the results are that path's bit for bit.
//
// Kernels of our own names (src/core/models/spectralNorm.ts), used where registered.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { SPECTRAL_NORM, SPECTRAL_NORM_GRAD } from '../models/spectralNorm';
import { heapOffset, NativeKernels } from './wasmNativeKernels';
import { float32Input, OwnKernels } from './ownKernels';

type Info = tf.TensorInfo;
type KernelParams = Parameters<tf.KernelFunc>[0];

const BACKEND = 'wasm';

/** The named inputs, checked to be float32 of the given sizes. */
function inputs(kernel: string, params: KernelParams, sizes: Record<string, number>): Info[] {
  return Object.entries(sizes).map(([name, size]) => float32Input(kernel, params, name, size));
}

/** W as the [n, m] matrix of the power iteration: m its last axis. */
function matrixOf(kernel: string, w: Info | undefined): { n: number; m: number } {
  if (w === undefined || w.shape.length === 0) throw new Error(`${kernel}: 'w' must be a matrix`);
  const m = w.shape[w.shape.length - 1] as number;
  return { n: tf.util.sizeFromShape(w.shape) / m, m };
}

function spectralNorm(params: KernelParams): Info[] {
  const { n, m } = matrixOf(SPECTRAL_NORM, params.inputs['w']);
  const [w, u] = inputs(SPECTRAL_NORM, params, { w: n * m, u: m }) as [Info, Info];
  const backend = params.backend as BackendWasm;
  const outs = [
    backend.makeOutput(w.shape, 'float32'),
    backend.makeOutput([m], 'float32'),
    backend.makeOutput([n], 'float32'),
    backend.makeOutput([], 'float32'),
  ];
  const at = (t: Info) => heapOffset(backend, t);
  NativeKernels.for(backend).run('spectral_norm', [at(w), at(u), ...outs.map(at), n, m], 0);
  return outs;
}

function spectralNormGrad(params: KernelParams): Info {
  const { n, m } = matrixOf(SPECTRAL_NORM_GRAD, params.inputs['w']);
  const sizes = { dy: n * m, w: n * m, v: n, u1: m, sigma: 1 };
  const ins = inputs(SPECTRAL_NORM_GRAD, params, sizes);
  const backend = params.backend as BackendWasm;
  const out = backend.makeOutput((ins[1] as Info).shape, 'float32');
  const at = (t: Info) => heapOffset(backend, t);
  NativeKernels.for(backend).run('spectral_norm_grad', [...ins.map(at), at(out), n, m], 0);
  return out;
}

const kernels = new OwnKernels(BACKEND, [
  [SPECTRAL_NORM, spectralNorm as tf.KernelFunc],
  [SPECTRAL_NORM_GRAD, spectralNormGrad as tf.KernelFunc],
]);

/** Registers both kernels for 'wasm'. Safe to call repeatedly. */
export function registerWasmSpectralNormKernels(): void {
  kernels.register();
}

/** Removes them, so that spectral norm runs its composite ops (for comparisons). */
export function unregisterWasmSpectralNormKernels(): void {
  kernels.unregister();
}
