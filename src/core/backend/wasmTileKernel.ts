// tfjs-backend-wasm 4.22's Tile computes every output element's source index in a scalar C++
// loop. Batch norm's gradient tiles per-channel vectors to the full activation shape several
// times per layer, which made Tile the largest single cost of a DCGAN training step (~30%).
// This Tile copies whole rows and then doubles blocks with copyWithin (memmove), innermost
// dimension first: the output is written once, in large contiguous copies.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { KernelSwap } from './kernelSwap';

type Info = tf.TensorInfo;
type KernelParams = Parameters<tf.KernelFunc>[0];
type Heap = Float32Array | Int32Array | Uint8Array;

const BACKEND = 'wasm';

/** Registers the block-copy Tile for 'wasm'. Safe to call repeatedly. */
export function registerWasmTileKernel(): void {
  swap.install();
}

/** Puts the stock kernel back (for comparisons). */
export function unregisterWasmTileKernel(): void {
  swap.restore();
}

function tile(params: KernelParams): Info {
  const x = params.inputs['x'];
  const { reps } = params.attrs as unknown as tf.TileAttrs;
  if (x === undefined) throw new Error("Tile (wasm): missing input 'x'");
  if (
    (x.dtype !== 'float32' && x.dtype !== 'int32' && x.dtype !== 'bool') ||
    reps.length !== x.shape.length ||
    x.shape.length === 0
  ) {
    return swap.runStock(tf.Tile, params);
  }
  const backend = params.backend as BackendWasm;
  const outShape = x.shape.map((d, i) => d * (reps[i] as number));
  const out = backend.makeOutput(outShape, x.dtype);
  if (outShape.some((d) => d === 0)) return out;
  // Views after the last allocation: the heap may have grown.
  const src = backend.typedArrayFromHeap(x) as Heap;
  const dst = backend.typedArrayFromHeap(out) as Heap;
  tileInto(src, dst, x.shape, reps);
  return out;
}

const swap = new KernelSwap(BACKEND, [[tf.Tile, tile]]);

/** Writes tile(src, reps) into dst; both row-major, dst of shape shape[i]·reps[i]. */
export function tileInto(
  src: Heap,
  dst: Heap,
  shape: readonly number[],
  reps: readonly number[],
): void {
  const rank = shape.length;
  // srcStride[d] / dstStride[d]: elements per step along dimension d.
  const srcStride = new Array<number>(rank);
  const dstStride = new Array<number>(rank);
  let s = 1;
  let t = 1;
  for (let d = rank - 1; d >= 0; d--) {
    srcStride[d] = s;
    dstStride[d] = t;
    s *= shape[d] as number;
    t *= (shape[d] as number) * (reps[d] as number);
  }
  const fill = (d: number, from: number, to: number): void => {
    const n = shape[d] as number;
    const r = reps[d] as number;
    if (d === rank - 1) {
      if (n === 1) {
        dst.fill(src[from] as number, to, to + r);
        return;
      }
      dst.set(src.subarray(from, from + n), to);
    } else {
      for (let i = 0; i < n; i++) {
        fill(d + 1, from + i * (srcStride[d] as number), to + i * (dstStride[d] as number));
      }
    }
    // One copy of this dimension's block is in place: double it until all r are.
    const block = n * (dstStride[d] as number);
    let done = 1;
    while (done < r) {
      const count = Math.min(done, r - done);
      dst.copyWithin(to + done * block, to, to + count * block);
      done += count;
    }
  };
  fill(0, 0, 0);
}
