// tfjs-backend-wasm 4.22's PadV2 runs XNNPACK's constant-pad operator: created, set up and run
// on its thread pool per call, which costs 0.2–0.3 ms inside a training step (the pool has gone
// to sleep between calls) for the few hundred floats of the slices' gradients — D's real and
// fake halves and their class logits, three pads per demo step. Below POOL_PAYS elements this
// PadV2 fills the output and copies the input's rows in JavaScript; larger pads (augmentation's
// image borders) stay on XNNPACK. A copy: the same bits either way.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { KernelSwap } from './kernelSwap';

type Info = tf.TensorInfo;
type KernelParams = Parameters<tf.KernelFunc>[0];

const BACKEND = 'wasm';

/** Output elements from which the stock kernel's threads pay for waking them. */
const POOL_PAYS = 1 << 14;

function pad(params: KernelParams): Info {
  const x = params.inputs['x'];
  const { paddings, constantValue } = params.attrs as unknown as tf.PadV2Attrs;
  if (x === undefined) throw new Error("PadV2 (wasm): missing input 'x'");
  const outShape = x.shape.map((d, i) => (paddings[i]?.[0] ?? 0) + d + (paddings[i]?.[1] ?? 0));
  const size = tf.util.sizeFromShape(outShape);
  if (
    x.dtype !== 'float32' ||
    x.shape.length === 0 ||
    paddings.length !== x.shape.length ||
    tf.util.sizeFromShape(x.shape) === 0 ||
    size >= POOL_PAYS
  ) {
    return swap.runStock(tf.PadV2, params);
  }
  const backend = params.backend as BackendWasm;
  const out = backend.makeOutput(outShape, 'float32');
  // Views after the last allocation: the heap may have grown.
  const src = backend.typedArrayFromHeap(x) as Float32Array;
  const dst = backend.typedArrayFromHeap(out) as Float32Array;
  padInto(src, dst, x.shape, outShape, paddings, constantValue);
  return out;
}

const swap = new KernelSwap(BACKEND, [[tf.PadV2, pad]]);

/** Registers the small-pad PadV2 for 'wasm'. Safe to call repeatedly. */
export function registerWasmPadKernel(): void {
  swap.install();
}

/** Puts the stock kernel back (for comparisons). */
export function unregisterWasmPadKernel(): void {
  swap.restore();
}

/**
 * Writes pad(src, paddings, value) into dst (row-major, of the padded shape `outShape`): the
 * value everywhere, then src in runs as long as the unpadded trailing dimensions allow.
 */
function padInto(
  src: Float32Array,
  dst: Float32Array,
  shape: readonly number[],
  outShape: readonly number[],
  paddings: readonly (readonly [number, number])[],
  value: number,
): void {
  const rank = shape.length;
  dst.fill(value);
  // Dimensions [inner, rank) are unpadded: one run of `run` elements per index of the others.
  let inner = rank;
  let run = 1;
  while (inner > 0 && paddings[inner - 1]?.[0] === 0 && paddings[inner - 1]?.[1] === 0) {
    inner--;
    run *= shape[inner] as number;
  }
  if (inner === 0) {
    dst.set(src);
    return;
  }
  const outStride = new Array<number>(inner);
  let s = run;
  for (let d = inner - 1; d >= 0; d--) {
    outStride[d] = s;
    s *= outShape[d] as number;
  }
  let from = 0;
  const copy = (d: number, to: number): void => {
    const start = to + (paddings[d]?.[0] ?? 0) * (outStride[d] as number);
    for (let i = 0; i < (shape[d] as number); i++) {
      const at = start + i * (outStride[d] as number);
      if (d === inner - 1) {
        dst.set(src.subarray(from, from + run), at);
        from += run;
      } else {
        copy(d + 1, at);
      }
    }
  };
  copy(0, 0);
}
