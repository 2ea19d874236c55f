// The parameter updates of training as one wasm kernel per parameter (native/icganKernels.c):
// Adam (src/core/train/adam.ts) and the EMA of G's weights (src/core/train/ema.ts). As tfjs ops
// they are ~13 and 3 kernel calls per parameter on tensors small enough that the calls' overhead,
// not the arithmetic, was the cost: ~8.5 ms of a ~100 ms demo training step for Adam alone.
//
// These are kernels of our own names, not replacements of stock ones: adam.ts and ema.ts use them
// where the active backend has them registered and run their composite ops everywhere else. The
// outputs are fresh tensors that the caller assigns to its variables: tfjs tensors are immutable
// and a variable's buffer may be shared, so nothing is written in place.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { ADAM_UPDATE, type AdamUpdateAttrs } from '../train/adam';
import { EMA_UPDATE, type EmaUpdateAttrs } from '../train/ema';
import { heapOffset, NativeKernels } from './wasmNativeKernels';
import { float32Input, OwnKernels } from './ownKernels';

type Info = tf.TensorInfo;
type KernelParams = Parameters<tf.KernelFunc>[0];

const BACKEND = 'wasm';

/** The inputs by name, checked to be float32 and all of the first one's size. */
function float32Inputs(kernel: string, params: KernelParams, names: readonly string[]): Info[] {
  const first = float32Input(kernel, params, names[0] as string);
  const size = tf.util.sizeFromShape(first.shape);
  return [first, ...names.slice(1).map((name) => float32Input(kernel, params, name, size))];
}

function adamUpdate(params: KernelParams): Info[] {
  const [p, g, m, v] = float32Inputs(ADAM_UPDATE, params, ['p', 'g', 'm', 'v']) as [
    Info,
    Info,
    Info,
    Info,
  ];
  const { beta1, beta2, epsilon, stepSize, rootCorrection } =
    params.attrs as unknown as AdamUpdateAttrs;
  const backend = params.backend as BackendWasm;
  const outs = [p, m, v].map((t) => backend.makeOutput(t.shape, 'float32')) as [Info, Info, Info];
  const size = tf.util.sizeFromShape(p.shape);
  const at = (t: Info) => heapOffset(backend, t);
  // 1 − β is taken in float64 and rounded once, as tfjs rounds the composite path's scalar.
  NativeKernels.for(backend).run(
    'adam_update',
    [
      ...[p, g, m, v, ...outs].map(at),
      size,
      beta1,
      1 - beta1,
      beta2,
      1 - beta2,
      stepSize,
      rootCorrection,
      epsilon,
    ],
    size,
  );
  return outs;
}

function emaUpdate(params: KernelParams): Info {
  const [ema, p] = float32Inputs(EMA_UPDATE, params, ['ema', 'p']) as [Info, Info];
  const { decay } = params.attrs as unknown as EmaUpdateAttrs;
  const backend = params.backend as BackendWasm;
  const out = backend.makeOutput(ema.shape, 'float32');
  const size = tf.util.sizeFromShape(ema.shape);
  NativeKernels.for(backend).run(
    'ema_update',
    [
      heapOffset(backend, ema),
      heapOffset(backend, p),
      heapOffset(backend, out),
      size,
      decay,
      1 - decay,
    ],
    size,
  );
  return out;
}

const kernels = new OwnKernels(BACKEND, [
  [ADAM_UPDATE, adamUpdate as tf.KernelFunc],
  [EMA_UPDATE, emaUpdate as tf.KernelFunc],
]);

/** Registers the fused updates for 'wasm'. Safe to call repeatedly. */
export function registerWasmUpdateKernels(): void {
  kernels.register();
}

/** Removes them, so that Adam and the EMA run their composite ops (for comparisons). */
export function unregisterWasmUpdateKernels(): void {
  kernels.unregister();
}
