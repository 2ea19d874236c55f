// Element-wise arithmetic and per-channel reductions for tfjs-backend-wasm on our own SIMD,
// threaded kernels (wasmNativeKernels.ts). What they replace, per DCGAN training step:
//  - Add/Sub/Multiply: tfjs-wasm computes a broadcast binary op's source indices per element in
//    a scalar loop; batch norm and its gradient multiply [B,H,W,C] by [C] dozens of times.
//  - Sum/Mean over the leading axes (batch norm's statistics and its gradient's channel sums):
//    tfjs-wasm transposes the input so the reduced axes come last, then sums each row
//    sequentially in float32. Ours sums columns in place, in blocks added in a pairwise tree,
//    which is both faster and more accurate (a sequential float32 sum over 16,384 rows loses
//    ~1e-3 relative, which batch norm's backward pass, a difference of such sums, amplifies).
//  - AvgPool 2×2 / 2 (the SimCLR encoder's input): XNNPACK, ~2 ms on [64, 32, 32, 3] where a
//    3-channel pixel fills no SIMD lane; ours sums in XNNPACK's order, so bit-identical.
//  - RealDiv: as Add/Sub/Multiply (the encoder's normalisations divide [B, …] by [B, 1]).
//  - Square, Relu, LeakyRelu, Neg, ClipByValue: single-threaded in tfjs-wasm.
//  - Tanh (the generator's output): std::tanh one element at a time in tfjs-wasm, ~1.1 ms per
//    [32, 32, 32, 3] batch; ours is SIMD and within 1.3 ulp of exact (so not bit-identical to the stock kernel).
// Each kernel handles float32 and the layouts above; anything else goes to the stock kernel.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { KernelSwap } from './kernelSwap';
import { heapOffset, NativeKernels } from './wasmNativeKernels';

type Info = tf.TensorInfo;
type KernelParams = Parameters<tf.KernelFunc>[0];
type Replacement = [string, (params: KernelParams) => Info];

const BACKEND = 'wasm';

/** Operation codes of native/icganKernels.c. */
const BINARY_OPS = { [tf.Add]: 0, [tf.Sub]: 1, [tf.Multiply]: 2, [tf.RealDiv]: 3 } as const;
const UNARY_OPS = {
  [tf.Square]: 0,
  [tf.Relu]: 1,
  [tf.LeakyRelu]: 2,
  [tf.Tanh]: 3,
  [tf.Neg]: 4,
} as const;

/** How a binary op's operands map onto the native kernels; null: the stock kernel's job. */
export type BinaryPlan =
  | { kind: 'same'; size: number }
  | { kind: 'scalar'; big: 'a' | 'b'; size: number }
  /** The small operand is [outer, 1, inner] against the big one's [outer, mid, inner]. */
  | { kind: 'bcast'; big: 'a' | 'b'; outer: number; mid: number; inner: number };

export function planBinary(aShape: number[], bShape: number[]): BinaryPlan | null {
  const out = tf.backend_util.assertAndGetBroadcastShape(aShape, bShape);
  const size = tf.util.sizeFromShape(out);
  const sizeA = tf.util.sizeFromShape(aShape);
  const sizeB = tf.util.sizeFromShape(bShape);
  if (size === 0) return null;
  // Equal sizes at the output's size: the same elements in the same order.
  if (sizeA === size && sizeB === size) return { kind: 'same', size };
  const big = sizeA === size ? 'a' : sizeB === size ? 'b' : null;
  if (big === null) return null; // both operands broadcast
  const smallShape = big === 'a' ? bShape : aShape;
  if (tf.util.sizeFromShape(smallShape) === 1) return { kind: 'scalar', big, size };
  const small = [...Array<number>(out.length - smallShape.length).fill(1), ...smallShape];
  // The axes the small operand is broadcast along must form one contiguous block (axes of
  // length 1 in the output do not count).
  let first = -1;
  let last = -1;
  for (let i = 0; i < out.length; i++) {
    if (out[i] === 1 || small[i] !== 1) continue;
    if (first < 0) first = i;
    last = i;
  }
  for (let i = first; i <= last; i++) {
    if (out[i] !== 1 && small[i] !== 1) return null;
  }
  const prod = (from: number, to: number) => out.slice(from, to).reduce((p, d) => p * d, 1);
  return {
    kind: 'bcast',
    big,
    outer: prod(0, first),
    mid: prod(first, last + 1),
    inner: prod(last + 1, out.length),
  };
}

function binaryKernel(name: keyof typeof BINARY_OPS): Replacement {
  const op = BINARY_OPS[name];
  const kernelFunc = (params: KernelParams): Info => {
    const { a, b } = params.inputs as { a?: Info; b?: Info };
    const plan =
      a !== undefined && b !== undefined && a.dtype === 'float32' && b.dtype === 'float32'
        ? planBinary(a.shape, b.shape)
        : null;
    if (a === undefined || b === undefined || plan === null) return swap.runStock(name, params);
    const backend = params.backend as BackendWasm;
    const native = NativeKernels.for(backend);
    const out = backend.makeOutput(
      tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape),
      'float32',
    );
    const [pa, pb, po] = [heapOffset(backend, a), heapOffset(backend, b), heapOffset(backend, out)];
    if (plan.kind === 'same') {
      native.run('binary', [op, pa, pb, po, plan.size], plan.size);
    } else if (plan.kind === 'scalar') {
      const [x, s] = plan.big === 'a' ? [pa, pb] : [pb, pa];
      native.run('binary_scalar', [op, x, s, po, plan.size, +(plan.big === 'b')], plan.size);
    } else {
      const [x, s] = plan.big === 'a' ? [pa, pb] : [pb, pa];
      const flip = +(plan.big === 'b');
      const size = plan.outer * plan.mid * plan.inner;
      native.run('binary_bcast', [op, x, s, po, plan.outer, plan.mid, plan.inner, flip], size);
    }
    return out;
  };
  return [name, kernelFunc];
}

function unaryKernel(name: keyof typeof UNARY_OPS): Replacement {
  const op = UNARY_OPS[name];
  const kernelFunc = (params: KernelParams): Info => {
    const x = params.inputs['x'];
    if (x === undefined || x.dtype !== 'float32') return swap.runStock(name, params);
    const backend = params.backend as BackendWasm;
    const alpha = name === tf.LeakyRelu ? (params.attrs as unknown as tf.LeakyReluAttrs).alpha : 0;
    const out = backend.makeOutput(x.shape, 'float32');
    const size = tf.util.sizeFromShape(x.shape);
    NativeKernels.for(backend).run(
      'unary',
      [op, heapOffset(backend, x), heapOffset(backend, out), size, alpha],
      size,
    );
    return out;
  };
  return [name, kernelFunc];
}

function clipKernel(): Replacement {
  const kernelFunc = (params: KernelParams): Info => {
    const x = params.inputs['x'];
    if (x === undefined || x.dtype !== 'float32') return swap.runStock(tf.ClipByValue, params);
    const { clipValueMin, clipValueMax } = params.attrs as unknown as tf.ClipByValueAttrs;
    const backend = params.backend as BackendWasm;
    const out = backend.makeOutput(x.shape, 'float32');
    const size = tf.util.sizeFromShape(x.shape);
    NativeKernels.for(backend).run(
      'clip',
      [heapOffset(backend, x), heapOffset(backend, out), size, clipValueMin, clipValueMax],
      size,
    );
    return out;
  };
  return [tf.ClipByValue, kernelFunc];
}

/** The 2×2 stride-2 'valid' NHWC average pool; other pools go to the stock kernel. */
function avgPoolKernel(): Replacement {
  const kernelFunc = (params: KernelParams): Info => {
    const x = params.inputs['x'];
    const { filterSize, strides, pad } = params.attrs as unknown as tf.AvgPoolAttrs;
    const two = (v: number | [number, number]) =>
      Array.isArray(v) ? v[0] === 2 && v[1] === 2 : v === 2;
    if (
      x === undefined ||
      x.dtype !== 'float32' ||
      x.shape.length !== 4 ||
      !two(filterSize) ||
      !two(strides) ||
      pad !== 'valid'
    ) {
      return swap.runStock(tf.AvgPool, params);
    }
    const [batch, h, w, c] = x.shape as [number, number, number, number];
    const backend = params.backend as BackendWasm;
    const out = backend.makeOutput([batch, Math.floor(h / 2), Math.floor(w / 2), c], 'float32');
    if (tf.util.sizeFromShape(out.shape) === 0) return out;
    const size = tf.util.sizeFromShape(out.shape);
    NativeKernels.for(backend).run(
      'avg_pool2',
      [heapOffset(backend, x), heapOffset(backend, out), batch, h, w, c],
      size * 4,
    );
    return out;
  };
  return [tf.AvgPool, kernelFunc];
}

/** Rows summed sequentially per block before the pairwise tree (native/icganKernels.c). */
export function reductionBlock(cols: number): number {
  return cols >= 4 ? 128 : 1024;
}

/**
 * out = scale · Σ_rows x (or of x∘y, each product rounded first) per column of x seen as
 * [rows, cols]: blocks summed in SIMD, block sums added in a pairwise tree (native/icganKernels.c).
 * The Sum/Mean replacements below and the fused batch norm (wasmBatchNormKernels.ts) share it, so
 * their sums round alike.
 */
export function columnSums(
  backend: BackendWasm,
  x: Info,
  y: Info | null,
  out: Info,
  rows: number,
  cols: number,
  scale: number,
): void {
  const native = NativeKernels.for(backend);
  const block = reductionBlock(cols);
  const blocks = Math.ceil(rows / block);
  const partial = backend.makeOutput([blocks * cols], 'float32');
  try {
    const at = (t: Info) => heapOffset(backend, t);
    if (y === null)
      native.run('colsum_blocks', [at(x), at(partial), rows, cols, block], rows * cols);
    else
      native.run('colsum_blocks_prod', [at(x), at(y), at(partial), rows, cols, block], rows * cols);
    native.run('colsum_tree', [at(partial), at(out), blocks, cols, scale], blocks * cols);
  } finally {
    backend.disposeData(partial.dataId);
  }
}

function reductionKernel(name: typeof tf.Sum | typeof tf.Mean): Replacement {
  const kernelFunc = (params: KernelParams): Info => {
    const x = params.inputs['x'];
    const { axis, keepDims } = params.attrs as unknown as tf.SumAttrs;
    if (x === undefined || x.dtype !== 'float32' || x.shape.length === 0) {
      return swap.runStock(name, params);
    }
    const axes = tf.util.parseAxisParam(axis, x.shape).sort((p, q) => p - q);
    // Only the leading axes: x is then [rows, cols] with the sum taken down each column.
    if (axes.length === 0 || axes.some((a, i) => a !== i)) return swap.runStock(name, params);
    const rows = tf.util.sizeFromShape(x.shape.slice(0, axes.length));
    const cols = tf.util.sizeFromShape(x.shape.slice(axes.length));
    if (rows === 0 || cols === 0) return swap.runStock(name, params);
    const backend = params.backend as BackendWasm;
    const outShape = keepDims
      ? x.shape.map((d, i) => (i < axes.length ? 1 : d))
      : x.shape.slice(axes.length);
    const out = backend.makeOutput(outShape, 'float32');
    columnSums(backend, x, null, out, rows, cols, name === tf.Mean ? 1 / rows : 1);
    return out;
  };
  return [name, kernelFunc];
}

const swap = new KernelSwap(BACKEND, [
  binaryKernel(tf.Add),
  binaryKernel(tf.Sub),
  binaryKernel(tf.Multiply),
  binaryKernel(tf.RealDiv),
  clipKernel(),
  avgPoolKernel(),
  unaryKernel(tf.Square),
  unaryKernel(tf.Relu),
  unaryKernel(tf.LeakyRelu),
  unaryKernel(tf.Tanh),
  unaryKernel(tf.Neg),
  reductionKernel(tf.Sum),
  reductionKernel(tf.Mean),
]);

/** The kernel names this module replaces. */
export const ELEMENTWISE_KERNELS = swap.configs.map((c) => c.kernelName);

/** Registers our kernels for 'wasm' in place of the stock ones. Safe to call repeatedly. */
export function registerWasmElementwiseKernels(): void {
  swap.install();
}

/** Puts the stock kernels back (for comparisons). */
export function unregisterWasmElementwiseKernels(): void {
  swap.restore();
}
