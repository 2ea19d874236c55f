import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { registerWasmConvKernels } from '../../src/core/backend/wasmConvKernels';
import { NativeKernels, type NativeKernelName } from '../../src/core/backend/wasmNativeKernels';
import { fixedTensor as fixed, liveTensors } from '../support/fixedTensor';
import { CONV_CASES, geometryOf, type ConvCase } from '../support/convCases';
import {
  assertWithin,
  bothThreadings,
  gamma,
  itHasThreadsToSplitOver,
  onCpuBackend,
  onWasmBackend,
} from '../support/kernelChecks';

// Our Conv2DBackpropInput (native/icganKernels.c conv2d_input_grad: the transposed conv of a
// generator's upsampling layers and a critic's backward pass) over odd shapes — its own and the
// shared conv cases — strides 1–3, paddings, batch sizes and dx channel counts off the kernel's
// 4-pixel × 8-channel tile (both tails), against a float64 sum, tfjs's cpu backend and the matrix product + col2im it replaced;
// every case once on the calling thread and once split over every thread (bit-identical).
// A dx element sums at most KH·KW·Co products, so the bounds are wasmConvForward.test's.

const CASES: ConvCase[] = [
  {
    name: 'DCGAN G 4→8, Ci 64',
    x: [3, 8, 8, 64],
    filter: [4, 4, 64, 128],
    strides: 2,
    pad: 'same',
  },
  { name: 'demo G 8→16', x: [2, 16, 16, 16], filter: [4, 4, 16, 32], strides: 2, pad: 'same' },
  { name: 'Ci 8, odd input', x: [1, 9, 11, 8], filter: [4, 4, 8, 7], strides: 2, pad: 'same' },
  { name: 'Ci 13 (both tails)', x: [2, 7, 9, 13], filter: [3, 3, 13, 5], strides: 2, pad: 1 },
  {
    name: 'Ci 12, stride 1 same',
    x: [3, 5, 7, 12],
    filter: [3, 3, 12, 9],
    strides: 1,
    pad: 'same',
  },
  {
    name: 'Ci 9, stride 3 valid',
    x: [2, 11, 13, 9],
    filter: [5, 5, 9, 6],
    strides: 3,
    pad: 'valid',
  },
  {
    name: 'stride 2 valid, rows without taps',
    x: [2, 9, 9, 8],
    filter: [1, 1, 8, 6],
    strides: 2,
    pad: 'valid',
  },
  { name: 'wide rows (W 33)', x: [1, 3, 33, 24], filter: [1, 3, 24, 17], strides: 1, pad: 'same' },
  // The geometries every native conv kernel test runs, with 8 more dx channels where they have
  // fewer than the 8 this kernel takes (so their channel counts still leave both tails).
  ...CONV_CASES.map((c): ConvCase => {
    const [n, h, w, ci] = c.x;
    const [kh, kw, , co] = c.filter;
    const wide = ci < 8 ? ci + 8 : ci;
    const name = wide === ci ? c.name : `${c.name}, 8 more dx channels`;
    return { ...c, name, x: [n, h, w, wide], filter: [kh, kw, wide, co] };
  }),
];

function attrsOf(c: ConvCase): tf.Conv2DBackpropInputAttrs {
  return {
    inputShape: c.x,
    strides: c.strides,
    pad: c.pad as tf.Conv2DBackpropInputAttrs['pad'],
    dataFormat: 'NHWC',
    dimRoundingMode: c.dimRoundingMode,
  };
}

function inputGrad(dy: tf.Tensor, filter: tf.Tensor, c: ConvCase): tf.Tensor {
  return tf
    .engine()
    .runKernel(tf.Conv2DBackpropInput, { dy, filter }, attrsOf(c) as never) as tf.Tensor;
}

/** The float64 dx and Σ|dy·w| per element: every (output pixel, tap) that reads each input pixel. */
function reference(
  dy: Float32Array,
  w: Float32Array,
  c: ConvCase,
): { exact: Float64Array; magnitude: Float64Array; terms: number } {
  const g = geometryOf(c);
  const exact = new Float64Array(g.batch * g.inH * g.inW * g.inC);
  const magnitude = new Float64Array(exact.length);
  for (let b = 0; b < g.batch; b++) {
    for (let oy = 0; oy < g.outH; oy++) {
      for (let ox = 0; ox < g.outW; ox++) {
        const dyBase = ((b * g.outH + oy) * g.outW + ox) * g.outC;
        for (let ky = 0; ky < g.kH; ky++) {
          const iy = oy * g.sH - g.padTop + ky;
          if (iy < 0 || iy >= g.inH) continue;
          for (let kx = 0; kx < g.kW; kx++) {
            const ix = ox * g.sW - g.padLeft + kx;
            if (ix < 0 || ix >= g.inW) continue;
            const dxBase = ((b * g.inH + iy) * g.inW + ix) * g.inC;
            for (let ci = 0; ci < g.inC; ci++) {
              const wBase = ((ky * g.kW + kx) * g.inC + ci) * g.outC;
              for (let co = 0; co < g.outC; co++) {
                const p = (dy[dyBase + co] as number) * (w[wBase + co] as number);
                exact[dxBase + ci] = (exact[dxBase + ci] as number) + p;
                magnitude[dxBase + ci] = (magnitude[dxBase + ci] as number) + Math.abs(p);
              }
            }
          }
        }
      }
    }
  }
  return { exact, magnitude, terms: g.kH * g.kW * g.outC };
}

/** `f` with the input gradient on the matrix product + col2im path it replaced, then ours back. */
function withGemm<T>(f: () => T): T {
  registerWasmConvKernels({ nativeInputGrad: false });
  try {
    return f();
  } finally {
    registerWasmConvKernels({ nativeInputGrad: true });
  }
}

/** The native kernels `f` runs. */
function nativeCalls(f: () => tf.Tensor): { result: tf.Tensor; kernels: NativeKernelName[] } {
  const native = NativeKernels.for(tf.backend() as BackendWasm);
  const kernels: NativeKernelName[] = [];
  const run = native.run.bind(native);
  native.run = (kernel, args, elements) => {
    kernels.push(kernel);
    run(kernel, args, elements);
  };
  try {
    return { result: f(), kernels };
  } finally {
    native.run = run;
  }
}

describe('wasm Conv2DBackpropInput (native/icganKernels.c conv2d_input_grad)', function () {
  this.timeout(300_000);
  onWasmBackend(() => registerWasmConvKernels({ nativeInputGrad: true }));

  itHasThreadsToSplitOver();

  CASES.forEach((c, i) => {
    it(`${c.name}: dx [${c.x}], filter [${c.filter}]`, async function () {
      const g = geometryOf(c);
      const dy = fixed([g.batch, g.outH, g.outW, g.outC], 500 + i, 0.6);
      const w = fixed(c.filter, 600 + i);
      const live = liveTensors();
      const { result: ours, kernels } = nativeCalls(() =>
        bothThreadings(() => inputGrad(dy, w, c)),
      );
      assert.ok(kernels.includes('conv2d_input_grad'), `ran ${kernels.join(', ')}`);
      assert.equal(liveTensors(), live + 2, 'no leaked tensors');
      assert.deepEqual(ours.shape, c.x);
      const values = ours.dataSync();
      const { exact, magnitude, terms } = reference(
        dy.dataSync() as Float32Array,
        w.dataSync() as Float32Array,
        c,
      );
      assertWithin(values, exact, magnitude, gamma(terms), 'vs float64');
      const cpu = await onCpuBackend([dy, w], ([cdy, cw]) => inputGrad(cdy!, cw!, c));
      assertWithin(values, cpu, magnitude, 2 * gamma(terms), 'vs cpu backend');
      const gemm = withGemm(() => inputGrad(dy, w, c));
      assertWithin(values, gemm.dataSync(), magnitude, 2 * gamma(terms), 'vs matrix product');
      tf.dispose([dy, w, ours, gemm]);
    });
  });

  it('leaves dx channels below 8 to the sub-pixel conv', function () {
    const c: ConvCase = {
      name: 'Ci 3',
      x: [2, 8, 8, 3],
      filter: [4, 4, 3, 16],
      strides: 2,
      pad: 'same',
    };
    const g = geometryOf(c);
    const dy = fixed([g.batch, g.outH, g.outW, g.outC], 700, 0.6);
    const w = fixed(c.filter, 701);
    const { result, kernels } = nativeCalls(() => inputGrad(dy, w, c));
    assert.ok(!kernels.includes('conv2d_input_grad'));
    assert.ok(kernels.includes('interleave_phases'), `ran ${kernels.join(', ')}`);
    tf.dispose([dy, w, result]);
  });
});
