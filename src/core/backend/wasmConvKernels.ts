// tfjs-backend-wasm 4.22 cannot train a conv net: it has no Conv2DBackpropFilter, and its
// Conv2DBackpropInput (also conv2dTranspose's forward pass) is a scalar C++ loop. The input
// gradient is rewritten here as a forward Conv2D or GEMM, which the backend runs through XNNPACK
// with SIMD; the transposes, phase interleaving and crops around it are cheap memory copies.
// The filter gradient runs on our own kernel (native/icganKernels.c conv_filter_grad): XNNPACK
// only takes it as a conv whose filter is the whole dy, a shape it runs at 1–6 GFLOP/s. That
// composition (one dilated Conv2D between transposes) stays as the fallback for
// ICGAN_WASM_NATIVE=0 and for comparisons. The forward Conv2D (undilated, NHWC) runs on our
// direct conv (conv2d_forward): XNNPACK rebuilds its indirection buffer and packs the filter on
// every call, and in training both inputs are new tensors at every step. The sub-pixel input
// gradient below reaches it too, through the registry.
//
// The kernels compose the backend's own kernel functions rather than tf ops, so nothing touches
// the engine (no tape, no scopes): every intermediate is a backend TensorInfo freed before the
// kernel returns, which keeps tfjs's per-kernel leak check and tf.memory() exact.
//
// Only NHWC is handled (what the models use); the filter gradient of an NCHW conv throws, the
// input gradient of one falls back to the stock kernel. Gradient kernels never see dilations:
// tfjs refuses to differentiate a dilated conv2d before reaching them.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { convGradGeometry, type ConvGeometry, type Shape4 } from './convGeometry';
import { heapOffset, NativeKernels } from './wasmNativeKernels';

type Info = tf.TensorInfo;
type KernelParams = Parameters<tf.KernelFunc>[0];
type ExplicitPad = tf.backend_util.ExplicitPadding;

const BACKEND = 'wasm';

let stockBackpropInput: tf.KernelConfig | undefined;
let stockConv2D: tf.KernelConfig | undefined;
let nativeFilterGrad = true;
let nativeForward = true;
let nativeInputGrad = true;

/**
 * Registers our Conv2D, Conv2DBackpropFilter and Conv2DBackpropInput for the 'wasm' backend,
 * replacing the stock Conv2D and input gradient. Safe to call any number of times.
 * `nativeFilterGrad: false` sends the filter gradient through XNNPACK instead of our kernel,
 * `nativeForward: false` the forward conv, `nativeInputGrad: false` the input gradient to the
 * matrix product + col2im or the sub-pixel conv (ICGAN_WASM_NATIVE=0, comparisons); an option
 * left out keeps its setting.
 */
export function registerWasmConvKernels(
  options: { nativeFilterGrad?: boolean; nativeForward?: boolean; nativeInputGrad?: boolean } = {},
): void {
  if (options.nativeFilterGrad !== undefined) nativeFilterGrad = options.nativeFilterGrad;
  if (options.nativeForward !== undefined) nativeForward = options.nativeForward;
  if (options.nativeInputGrad !== undefined) nativeInputGrad = options.nativeInputGrad;
  installKernel(backpropFilterConfig);
  // The first kernel displaced is tfjs-wasm's own; a later one (a bench's timing wrapper around
  // ours) must not become the fallback, which would then call back into ours.
  const replacedInput = installKernel(backpropInputConfig);
  stockBackpropInput ??= replacedInput;
  const replacedConv = installKernel(conv2dConfig);
  stockConv2D ??= replacedConv;
}

/** Removes the kernels and puts the stock Conv2D and input gradient back (for comparisons). */
export function unregisterWasmConvKernels(): void {
  uninstallKernel(backpropFilterConfig, undefined);
  uninstallKernel(backpropInputConfig, stockBackpropInput);
  uninstallKernel(conv2dConfig, stockConv2D);
}

// ---- registration ----------------------------------------------------------------------------

/** Installs `config` unless it is already current; returns the config it displaced. */
function installKernel(config: tf.KernelConfig): tf.KernelConfig | undefined {
  const current = tf.getKernel(config.kernelName, config.backendName);
  if (current?.kernelFunc === config.kernelFunc) return undefined;
  if (current !== undefined) tf.unregisterKernel(config.kernelName, config.backendName);
  tf.registerKernel(config);
  return current;
}

function uninstallKernel(config: tf.KernelConfig, restore: tf.KernelConfig | undefined): void {
  const current = tf.getKernel(config.kernelName, config.backendName);
  if (current?.kernelFunc !== config.kernelFunc) return;
  tf.unregisterKernel(config.kernelName, config.backendName);
  if (restore !== undefined) tf.registerKernel(restore);
}

// ---- as matrix products (im2col / col2im) -----------------------------------------------------

/** The patch-matrix arguments of native/icganKernels.c's col2im. */
function patchArgs(g: ConvGeometry): number[] {
  return [
    g.batch,
    g.inH,
    g.inW,
    g.inC,
    g.outH,
    g.outW,
    g.kH,
    g.kW,
    g.sH,
    g.sW,
    g.padTop,
    g.padLeft,
  ];
}

/**
 * From this many dx channels on, the input gradient is one matrix product and col2im rather
 * than the sub-pixel conv: measured 1.8–2.9× faster at DCGAN's 128→64 and 64→32 layers, 4× slower
 * at 32→3, where col2im's channel runs are too short for SIMD and the product too narrow.
 */
const GEMM_MIN_CHANNELS = 16;

/** dx = col2im(dy·Wᵀ), W the filter as [KH·KW·Ci, Co]: no zero taps, unlike the sub-pixel conv. */
function backpropInputGemm(backend: BackendWasm, dy: Info, filter: Info, g: ConvGeometry): Info {
  const rows = g.batch * g.outH * g.outW;
  const patch = g.kH * g.kW * g.inC;
  return withIntermediates(backend, (temp) => {
    const dy3 = temp(reshape(backend, dy, [1, rows, g.outC]));
    const w3 = temp(reshape(backend, filter, [1, patch, g.outC]));
    const attrs: tf.BatchMatMulAttrs = { transposeA: false, transposeB: true };
    const cols = temp(runKernel(backend, tf.BatchMatMul, { a: dy3, b: w3 }, attrs));
    const dx = temp(backend.makeOutput([g.batch, g.inH, g.inW, g.inC], 'float32'));
    NativeKernels.for(backend).run(
      'col2im',
      [heapOffset(backend, cols), heapOffset(backend, dx), ...patchArgs(g)],
      rows * patch,
    );
    return dx;
  });
}

/**
 * From this many dx channels on, the input gradient runs on our direct kernel
 * (conv2d_input_grad), which visits only the taps that exist. Below, a 4-channel register block
 * is mostly empty and the sub-pixel conv, whose phases stack on the channels, is faster.
 */
const DIRECT_MIN_CHANNELS = 8;

/** dx by conv2d_input_grad, from dy and the filter with its channel axes swapped. */
function backpropInputDirect(backend: BackendWasm, dy: Info, filter: Info, g: ConvGeometry): Info {
  return withIntermediates(backend, (temp) => {
    const wt = temp(transpose(backend, filter, [0, 1, 3, 2]));
    // What a tap outside dy reads.
    const zeros = temp(zeroPixel(backend, g.outC));
    const dx = temp(backend.makeOutput([g.batch, g.inH, g.inW, g.inC], 'float32'));
    NativeKernels.for(backend).run(
      'conv2d_input_grad',
      [
        heapOffset(backend, dy),
        heapOffset(backend, wt),
        heapOffset(backend, dx),
        heapOffset(backend, zeros),
        ...convArgs(g),
      ],
      poolWork(g) / (g.sH * g.sW),
    );
    return dx;
  });
}

function reshape(backend: BackendWasm, x: Info, shape: number[]): Info {
  return runKernel(backend, tf.Reshape, { x }, { shape });
}

// ---- Conv2D ------------------------------------------------------------------------------------

/** The geometry arguments of conv2d_forward, conv2d_input_grad and conv_filter_grad, in C order. */
function convArgs(g: ConvGeometry): number[] {
  return [
    g.batch,
    g.inH,
    g.inW,
    g.inC,
    g.outH,
    g.outW,
    g.outC,
    g.kH,
    g.kW,
    g.sH,
    g.sW,
    g.padTop,
    g.padLeft,
  ];
}

/**
 * A conv's size against the pool's element threshold: its multiply-adds as matmul counts them
 * (waking the pool paid off there from about 2^20; not re-measured for the conv kernels, whose
 * calls in training are all far above it).
 */
function poolWork(g: ConvGeometry): number {
  return (g.batch * g.outH * g.outW * g.kH * g.kW * g.inC * g.outC) / 64;
}

/**
 * One pixel's `channels` of zeros: what the direct conv kernels read for a tap outside their
 * input (the module owns no memory, so the caller provides it).
 */
function zeroPixel(backend: BackendWasm, channels: number): Info {
  const zeros = backend.makeOutput([channels], 'float32');
  heapF32(backend, zeros).fill(0);
  return zeros;
}

function isDilated(dilations: tf.Conv2DAttrs['dilations']): boolean {
  if (dilations === undefined) return false;
  return typeof dilations === 'number' ? dilations !== 1 : dilations.some((d) => d !== 1);
}

/** Our direct conv for NHWC and no dilation; the stock XNNPACK kernel for the rest. */
function conv2dForward(params: KernelParams): Info {
  const attrs = params.attrs as unknown as tf.Conv2DAttrs;
  if (!nativeForward || attrs.dataFormat === 'NCHW' || isDilated(attrs.dilations)) {
    if (stockConv2D === undefined) throw new Error('Conv2D (wasm): the stock kernel is missing');
    return stockConv2D.kernelFunc(params) as Info;
  }
  const backend = params.backend as BackendWasm;
  const x = floatInput(params, 'x');
  const filter = floatInput(params, 'filter');
  const g = convGradGeometry(shape4(x), shape4(filter), attrs, 'Conv2D (wasm)');
  const y = backend.makeOutput([g.batch, g.outH, g.outW, g.outC], 'float32');
  // What a tap in the padding reads.
  const zeros = zeroPixel(backend, g.inC);
  try {
    NativeKernels.for(backend).run(
      'conv2d_forward',
      [
        heapOffset(backend, x),
        heapOffset(backend, filter),
        heapOffset(backend, y),
        heapOffset(backend, zeros),
        ...convArgs(g),
      ],
      poolWork(g),
    );
  } finally {
    backend.disposeData(zeros.dataId);
  }
  return y;
}

const conv2dConfig: tf.KernelConfig = {
  kernelName: tf.Conv2D,
  backendName: BACKEND,
  kernelFunc: conv2dForward as tf.KernelFunc,
  // The stock kernel is our fallback; the engine only sets up registered kernels.
  setupFunc: (backend) => stockConv2D?.setupFunc?.(backend),
};

// ---- Conv2DBackpropFilter --------------------------------------------------------------------

/** Our kernel: one pass, no intermediates, bit-identical for any thread count. */
function backpropFilterNative(backend: BackendWasm, x: Info, dy: Info, g: ConvGeometry): Info {
  const dw = backend.makeOutput([g.kH, g.kW, g.inC, g.outC], 'float32');
  NativeKernels.for(backend).run(
    'conv_filter_grad',
    [heapOffset(backend, x), heapOffset(backend, dy), heapOffset(backend, dw), ...convArgs(g)],
    poolWork(g),
  );
  return dw;
}

/**
 * dW[kh,kw,ci,co] = Σ_{b,oh,ow} xpad[b, kh + sH·oh, kw + sW·ow, ci] · dy[b,oh,ow,co]: a stride-1
 * Conv2D of x as [Ci,H,W,B] with dy as the filter [OH,OW,B,Co], dilated by the forward stride.
 */
function backpropFilter(params: KernelParams): Info {
  const backend = params.backend as BackendWasm;
  const attrs = params.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  const x = floatInput(params, 'x');
  const dy = floatInput(params, 'dy');
  const g = convGradGeometry(
    shape4(x),
    attrs.filterShape,
    attrs,
    'Conv2DBackpropFilter (wasm, XNNPACK)',
  );
  checkDy(dy, g, 'Conv2DBackpropFilter');
  if (nativeFilterGrad) return backpropFilterNative(backend, x, dy, g);
  // Rows/cols of x past the last window need a negative pad, i.e. a crop.
  const padBottom = g.kH + g.sH * (g.outH - 1) - g.inH - g.padTop;
  const padRight = g.kW + g.sW * (g.outW - 1) - g.inW - g.padLeft;
  const keepH = g.inH + Math.min(0, padBottom);
  const keepW = g.inW + Math.min(0, padRight);
  return withIntermediates(backend, (temp) => {
    const xUsed =
      keepH < g.inH || keepW < g.inW
        ? temp(cropTail(backend, x, [g.batch, keepH, keepW, g.inC]))
        : x;
    const xT = temp(transpose(backend, xUsed, [3, 1, 2, 0]));
    const dyT = temp(transpose(backend, dy, [1, 2, 0, 3]));
    const pad: ExplicitPad = [
      [0, 0],
      [g.padTop, Math.max(0, padBottom)],
      [g.padLeft, Math.max(0, padRight)],
      [0, 0],
    ];
    const dwT = temp(conv2d(backend, xT, dyT, pad, [g.sH, g.sW]));
    return temp(transpose(backend, dwT, [1, 2, 0, 3]));
  });
}

const backpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: BACKEND,
  kernelFunc: backpropFilter as tf.KernelFunc,
};

// ---- Conv2DBackpropInput ---------------------------------------------------------------------

/**
 * How one spatial axis of dx is produced by sub-pixel convolution. Output position u = s·q + r of
 * the interleaved result is dx index u − cropStart; phase r only meets the taps
 * k = r + base − s·d of the forward filter, where d = oh − q ranges over
 * [tapStart, tapStart + taps). Choosing cropStart = pad mod s makes `base` a multiple of s, which
 * keeps taps at its minimum, ceil(k/s).
 */
interface AxisPlan {
  stride: number;
  cropStart: number;
  base: number;
  tapStart: number;
  taps: number;
  padBefore: number;
  padAfter: number;
}

function planAxis(size: number, k: number, s: number, padStart: number, outSize: number): AxisPlan {
  const cropStart = padStart % s;
  const base = padStart - cropStart;
  const blocks = Math.ceil((size + cropStart) / s);
  // Widening the tap range with zero taps keeps both conv paddings non-negative.
  const tapStart = Math.min(0, Math.ceil((base - k + 1) / s));
  const tapEnd = Math.max(base / s, outSize - blocks);
  return {
    stride: s,
    cropStart,
    base,
    tapStart,
    taps: tapEnd - tapStart + 1,
    padBefore: -tapStart,
    padAfter: blocks - outSize + tapEnd,
  };
}

/** Index of the forward-filter tap that phase `r`, sub-filter tap `t` reads; -1 when none. */
function tapIndex(plan: AxisPlan, k: number, r: number, t: number): number {
  const index = r + plan.base - plan.stride * (t + plan.tapStart);
  return index >= 0 && index < k ? index : -1;
}

/**
 * dx = conv2dTranspose(dy, W): one stride-1 Conv2D of dy with the sH·sW phase sub-filters of W
 * stacked on its output channels, then the phases interleaved back into space and cropped.
 */
function backpropInput(params: KernelParams): Info {
  const attrs = params.attrs as unknown as tf.Conv2DBackpropInputAttrs;
  if (attrs.dataFormat === 'NCHW' && stockBackpropInput !== undefined) {
    return stockBackpropInput.kernelFunc(params) as Info;
  }
  const backend = params.backend as BackendWasm;
  const dy = floatInput(params, 'dy');
  const filter = floatInput(params, 'filter');
  const filterShape = shape4(filter);
  const g = convGradGeometry(
    attrs.inputShape,
    filterShape,
    attrs,
    'Conv2DBackpropInput (wasm, XNNPACK)',
  );
  checkDy(dy, g, 'Conv2DBackpropInput');
  if (nativeInputGrad && g.inC >= DIRECT_MIN_CHANNELS && g.padTop >= 0 && g.padLeft >= 0) {
    return backpropInputDirect(backend, dy, filter, g);
  }
  if (g.inC >= GEMM_MIN_CHANNELS) return backpropInputGemm(backend, dy, filter, g);
  const rows = planAxis(g.inH, g.kH, g.sH, g.padTop, g.outH);
  const cols = planAxis(g.inW, g.kW, g.sW, g.padLeft, g.outW);
  return withIntermediates(backend, (temp) => {
    const subFilters = temp(subPixelFilter(backend, filter, filterShape, rows, cols));
    const pad: ExplicitPad = [
      [0, 0],
      [rows.padBefore, rows.padAfter],
      [cols.padBefore, cols.padAfter],
      [0, 0],
    ];
    const phases = temp(conv2d(backend, dy, subFilters, pad, [1, 1]));
    // Stride 1 has a single phase and never crops: the conv output already is dx.
    if (g.sH === 1 && g.sW === 1) return phases;
    return temp(interleavePhases(backend, phases, g, rows, cols));
  });
}

const backpropInputConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropInput,
  backendName: BACKEND,
  kernelFunc: backpropInput as tf.KernelFunc,
  // The stock kernel is our NCHW fallback; the engine only sets up registered kernels.
  setupFunc: (backend) => stockBackpropInput?.setupFunc?.(backend),
};

/** Builds the [tapsH, tapsW, Co, sH·sW·Ci] filter; channel (rh·sW + rw)·Ci + ci is phase (rh,rw). */
function subPixelFilter(
  backend: BackendWasm,
  filter: Info,
  [kH, kW, inC, outC]: Shape4,
  rows: AxisPlan,
  cols: AxisPlan,
): Info {
  const phaseChannels = rows.stride * cols.stride * inC;
  const out = backend.makeOutput([rows.taps, cols.taps, outC, phaseChannels], 'float32');
  const src = heapF32(backend, filter);
  const dst = heapF32(backend, out);
  dst.fill(0);
  for (let rh = 0; rh < rows.stride; rh++) {
    for (let th = 0; th < rows.taps; th++) {
      const kh = tapIndex(rows, kH, rh, th);
      if (kh < 0) continue;
      for (let rw = 0; rw < cols.stride; rw++) {
        for (let tw = 0; tw < cols.taps; tw++) {
          const kw = tapIndex(cols, kW, rw, tw);
          if (kw < 0) continue;
          const srcBase = (kh * kW + kw) * inC * outC;
          const dstBase =
            (th * cols.taps + tw) * outC * phaseChannels + (rh * cols.stride + rw) * inC;
          copyTransposed(src, srcBase, dst, dstBase, inC, outC, phaseChannels);
        }
      }
    }
  }
  return out;
}

/** dst[dstBase + o·dstRow + c] = src[srcBase + c·cols + o]: one [Ci,Co] tap into [Co, …] rows. */
function copyTransposed(
  src: Float32Array,
  srcBase: number,
  dst: Float32Array,
  dstBase: number,
  rows: number,
  cols: number,
  dstRow: number,
): void {
  for (let c = 0; c < rows; c++) {
    for (let o = 0; o < cols; o++) {
      dst[dstBase + o * dstRow + c] = src[srcBase + c * cols + o] ?? 0;
    }
  }
}

/**
 * Scatters the phases [B, Qh, Qw, sH·sW·Ci] back into space and crops in one pass:
 * dx[b, i, j, :] = phases[b, ⌊u/sH⌋, ⌊v/sW⌋, phase (u mod sH, v mod sW)] with u, v = i, j + crop.
 * (The backend's DepthToSpace is a scalar loop; this is native/icganKernels.c's SIMD copy.)
 */
function interleavePhases(
  backend: BackendWasm,
  phases: Info,
  g: ConvGeometry,
  rows: AxisPlan,
  cols: AxisPlan,
): Info {
  const [, qH, qW] = shape4(phases);
  const out = backend.makeOutput([g.batch, g.inH, g.inW, g.inC], 'float32');
  NativeKernels.for(backend).run(
    'interleave_phases',
    [
      heapOffset(backend, phases),
      heapOffset(backend, out),
      ...[g.batch, g.inH, g.inW, g.inC, qH, qW, g.sH, g.sW, rows.cropStart, cols.cropStart],
    ],
    g.batch * g.inH * g.inW * g.inC,
  );
  return out;
}

function checkDy(dy: Info, g: ConvGeometry, kernel: string): void {
  const expected: Shape4 = [g.batch, g.outH, g.outW, g.outC];
  if (!sameShape(dy.shape, expected)) {
    throw new Error(`${kernel}: dy has shape [${dy.shape}], expected [${expected}]`);
  }
}

// ---- backend helpers -------------------------------------------------------------------------

/** Runs `body`, then frees every intermediate it passed to `temp` except the one it returns. */
function withIntermediates(backend: BackendWasm, body: (temp: (t: Info) => Info) => Info): Info {
  const temps: Info[] = [];
  let result: Info | undefined;
  try {
    result = body((t) => {
      temps.push(t);
      return t;
    });
    return result;
  } finally {
    for (const t of temps) if (t !== result) backend.disposeData(t.dataId);
  }
}

function runKernel(
  backend: BackendWasm,
  name: string,
  inputs: tf.NamedTensorInfoMap,
  attrs: object,
): Info {
  const kernel = tf.getKernel(name, BACKEND);
  if (kernel === undefined) throw new Error(`kernel '${name}' is not registered for wasm`);
  const out = kernel.kernelFunc({ inputs, backend, attrs: attrs as tf.NamedAttrMap });
  if (Array.isArray(out)) throw new Error(`kernel '${name}' returned several tensors`);
  return out;
}

function conv2d(
  backend: BackendWasm,
  x: Info,
  filter: Info,
  pad: ExplicitPad,
  dilations: [number, number],
): Info {
  const attrs: tf.Conv2DAttrs = { strides: 1, pad, dataFormat: 'NHWC', dilations };
  return runKernel(backend, tf.Conv2D, { x, filter }, attrs);
}

/** A rank-4 transpose on our threaded SIMD kernel (the stock one is a scalar loop). */
function transpose(backend: BackendWasm, x: Info, perm: Shape4): Info {
  const shape = shape4(x);
  const out = backend.makeOutput(
    perm.map((p) => shape[p] as number),
    'float32',
  );
  NativeKernels.for(backend).run(
    'transpose4',
    [heapOffset(backend, x), heapOffset(backend, out), ...shape, ...perm],
    tf.util.sizeFromShape(shape),
  );
  return out;
}

/** Copies the first size[1] rows and size[2] columns of every image of an NHWC x. */
function cropTail(backend: BackendWasm, x: Info, size: Shape4): Info {
  const [, xH, xW, channels] = shape4(x);
  const [n, h, w] = size;
  const out = backend.makeOutput(size, 'float32');
  const src = heapF32(backend, x);
  const dst = heapF32(backend, out);
  const rowLength = w * channels;
  for (let b = 0; b < n; b++) {
    for (let r = 0; r < h; r++) {
      const from = (b * xH + r) * xW * channels;
      dst.set(src.subarray(from, from + rowLength), (b * h + r) * rowLength);
    }
  }
  return out;
}

/** A view of a tensor on the WASM heap; take it after the last allocation (the heap may grow). */
function heapF32(backend: BackendWasm, t: Info): Float32Array {
  const view = backend.typedArrayFromHeap(t);
  if (!(view instanceof Float32Array)) throw new Error(`expected float32 data, got ${t.dtype}`);
  return view;
}

function floatInput(params: KernelParams, name: string): Info {
  const t = params.inputs[name];
  if (t === undefined) throw new Error(`missing input '${name}'`);
  if (t.dtype !== 'float32') throw new Error(`input '${name}' must be float32, got ${t.dtype}`);
  return t;
}

function shape4(t: Info): Shape4 {
  const [a, b, c, d] = t.shape;
  if (t.shape.length !== 4 || d === undefined) throw new Error(`expected rank 4, got [${t.shape}]`);
  return [a ?? 0, b ?? 0, c ?? 0, d];
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
