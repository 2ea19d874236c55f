// D's minibatch std, forward and backward, as one tfjs kernel each on native kernels
// (native/icganKernels.c mbstd_*): the composite ops were ~10 tfjs calls forward and ~20 backward
// per D call (moments over a middle axis — a transpose and a sequential Mean each —, a root, a
// mean, a tile, a concat, and their gradients: ~80 calls per demo training step), on tensors of
// 16–32 k floats where the calls cost more than the arithmetic. Every value is rounded as by the
// ops the composite ran on, in their order, so the results are theirs bit for bit.
//
// Kernels of our own names (src/core/models/minibatchStd.ts), used where registered.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { MINIBATCH_STD, MINIBATCH_STD_GRAD, type MinibatchStdAttrs } from '../models/minibatchStd';
import { heapOffset, NativeKernels } from './wasmNativeKernels';
import { float32Input, OwnKernels } from './ownKernels';

type Info = tf.TensorInfo;
type KernelParams = Parameters<tf.KernelFunc>[0];

const BACKEND = 'wasm';

/** x [B, H, W, C] in groups of g images. */
interface Layout {
  batch: number;
  groups: number;
  hw: number;
  c: number;
}

function layoutOf(kernel: string, x: Info, group: number): Layout {
  if (x.shape.length !== 4) throw new Error(`${kernel}: x [${x.shape}] is not [B, H, W, C]`);
  const [batch, h, w, c] = x.shape as [number, number, number, number];
  if (!(group >= 1) || batch % group !== 0)
    throw new Error(`${kernel}: a batch of ${batch} does not split into groups of ${group}`);
  return { batch, groups: batch / group, hw: h * w, c };
}

function minibatchStd(params: KernelParams): Info[] {
  const { group, epsilon } = params.attrs as unknown as MinibatchStdAttrs;
  const x = float32Input(MINIBATCH_STD, params, 'x');
  const l = layoutOf(MINIBATCH_STD, x, group);
  const backend = params.backend as BackendWasm;
  const at = (t: Info) => heapOffset(backend, t);
  const out = backend.makeOutput([...x.shape.slice(0, 3), l.c + 1], 'float32');
  const mean = backend.makeOutput([l.groups, l.hw * l.c], 'float32');
  const a = backend.makeOutput([l.groups, l.hw * l.c], 'float32');
  NativeKernels.for(backend).run(
    'mbstd_forward',
    [at(x), at(out), at(mean), at(a), l.groups, group, l.hw, l.c, epsilon],
    l.batch * l.hw * l.c,
  );
  return [out, mean, a];
}

function minibatchStdGrad(params: KernelParams): Info {
  const { group } = params.attrs as unknown as MinibatchStdAttrs;
  const x = float32Input(MINIBATCH_STD_GRAD, params, 'x');
  const l = layoutOf(MINIBATCH_STD_GRAD, x, group);
  const size = l.batch * l.hw * l.c;
  const dy = float32Input(MINIBATCH_STD_GRAD, params, 'dy', l.batch * l.hw * (l.c + 1));
  const mean = float32Input(MINIBATCH_STD_GRAD, params, 'mean', size / group);
  const a = float32Input(MINIBATCH_STD_GRAD, params, 'a', size / group);
  const backend = params.backend as BackendWasm;
  const at = (t: Info) => heapOffset(backend, t);
  const dx = backend.makeOutput(x.shape, 'float32');
  NativeKernels.for(backend).run(
    'mbstd_grad',
    [at(dy), at(x), at(mean), at(a), at(dx), l.groups, group, l.hw, l.c],
    size,
  );
  return dx;
}

const kernels = new OwnKernels(BACKEND, [
  [MINIBATCH_STD, minibatchStd as tf.KernelFunc],
  [MINIBATCH_STD_GRAD, minibatchStdGrad as tf.KernelFunc],
]);

/** Registers both kernels for 'wasm'. Safe to call repeatedly. */
export function registerWasmMinibatchStdKernels(): void {
  kernels.register();
}

/** Removes them, so that minibatch std runs its composite ops (for comparisons). */
export function unregisterWasmMinibatchStdKernels(): void {
  kernels.unregister();
}
