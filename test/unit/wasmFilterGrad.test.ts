import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import type { Shape4 } from '../../src/core/backend/convGeometry';
import {
  registerCpuConvKernels,
  unregisterCpuConvKernels,
} from '../../src/core/backend/cpuConvKernels';
import { registerWasmConvKernels } from '../../src/core/backend/wasmConvKernels';
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

// Our Conv2DBackpropFilter (native/icganKernels.c conv_filter_grad) over odd shapes, strides,
// paddings, batch sizes and channel counts off the kernel's 4 × 8 register tile, against tfjs's
// own cpu backend kernel and a float64 sum; every case once on the calling thread and once split
// over every thread (bit-identical), and through the XNNPACK path it replaces.
//
// Tolerance: a float32 sum of n products, in any order, is within γ_n·Σ|x·dy| of the exact value,
// γ_n = n·2⁻²⁴ / (1 − n·2⁻²⁴), n = batch·OH·OW terms per weight (the recursive-summation bound,
// product rounding included). Ours must be within γ_n of the float64 sum and within 2·γ_n of the
// cpu and XNNPACK results (each within γ_n itself).

type Case = ConvCase;

const CASES: Case[] = [
  ...CONV_CASES,
  // The kernel walks the batch in blocks of about 64 output pixels, adding each onto the last.
  {
    name: 'one image per block (272 pixels each)',
    x: [3, 17, 16, 5],
    filter: [3, 3, 5, 10],
    strides: 1,
    pad: 'same',
  },
  {
    name: 'blocks of 16 small images',
    x: [67, 3, 3, 6],
    filter: [2, 2, 6, 9],
    strides: 1,
    pad: 'valid',
  },
  {
    name: 'wider than long (Co 21)',
    x: [1, 6, 6, 8],
    filter: [3, 3, 8, 21],
    strides: 1,
    pad: 'same',
  },
];

function attrsOf(c: Case): tf.Conv2DBackpropFilterAttrs {
  return {
    strides: c.strides,
    pad: c.pad as tf.Conv2DBackpropFilterAttrs['pad'],
    dataFormat: 'NHWC',
    dimRoundingMode: c.dimRoundingMode,
    filterShape: c.filter,
  };
}

function dyShape(c: Case): Shape4 {
  const g = geometryOf(c);
  return [g.batch, g.outH, g.outW, g.outC];
}

function filterGrad(x: tf.Tensor, dy: tf.Tensor, c: Case): tf.Tensor {
  return tf
    .engine()
    .runKernel(tf.Conv2DBackpropFilter, { x, dy }, attrsOf(c) as never) as tf.Tensor;
}

/** The float64 gradient, Σ|x·dy| per weight and the number of terms of each sum. */
function reference(
  x: Float32Array,
  dy: Float32Array,
  c: Case,
): { exact: Float64Array; magnitude: Float64Array; terms: number } {
  const g = geometryOf(c);
  const size = g.kH * g.kW * g.inC * g.outC;
  const exact = new Float64Array(size);
  const magnitude = new Float64Array(size);
  for (let b = 0; b < g.batch; b++) {
    for (let oy = 0; oy < g.outH; oy++) {
      for (let ox = 0; ox < g.outW; ox++) {
        for (let ky = 0; ky < g.kH; ky++) {
          const iy = oy * g.sH - g.padTop + ky;
          if (iy < 0 || iy >= g.inH) continue;
          for (let kx = 0; kx < g.kW; kx++) {
            const ix = ox * g.sW - g.padLeft + kx;
            if (ix < 0 || ix >= g.inW) continue;
            for (let ci = 0; ci < g.inC; ci++) {
              const xv = x[((b * g.inH + iy) * g.inW + ix) * g.inC + ci] as number;
              for (let co = 0; co < g.outC; co++) {
                const p = xv * (dy[((b * g.outH + oy) * g.outW + ox) * g.outC + co] as number);
                const at = ((ky * g.kW + kx) * g.inC + ci) * g.outC + co;
                exact[at] = (exact[at] as number) + p;
                magnitude[at] = (magnitude[at] as number) + Math.abs(p);
              }
            }
          }
        }
      }
    }
  }
  return { exact, magnitude, terms: g.batch * g.outH * g.outW };
}

/** `f` with the filter gradient on the XNNPACK path, then ours back. */
function withXnnpack<T>(f: () => T): T {
  registerWasmConvKernels({ nativeFilterGrad: false });
  try {
    return f();
  } finally {
    registerWasmConvKernels({ nativeFilterGrad: true });
  }
}

/** tfjs's own cpu kernel on the same values (this project's cpu kernel, if registered, set aside). */
function onCpu(x: tf.Tensor, dy: tf.Tensor, c: Case): Promise<Float32Array> {
  return onCpuBackend([x, dy], ([cx, cdy]) => {
    const ours = tf.getKernel(tf.Conv2DBackpropFilter, 'cpu')?.kernelFunc;
    unregisterCpuConvKernels();
    const replaced = tf.getKernel(tf.Conv2DBackpropFilter, 'cpu')?.kernelFunc !== ours;
    try {
      return filterGrad(cx!, cdy!, c);
    } finally {
      if (replaced) registerCpuConvKernels();
    }
  });
}

describe('wasm Conv2DBackpropFilter (native/icganKernels.c conv_filter_grad)', function () {
  this.timeout(300_000);
  onWasmBackend(() => registerWasmConvKernels({ nativeFilterGrad: true }));

  itHasThreadsToSplitOver();

  CASES.forEach((c, i) => {
    it(`${c.name}: x [${c.x}], filter [${c.filter}]`, async function () {
      const x = fixed(c.x, 100 + i, 0.6);
      const dy = fixed(dyShape(c), 200 + i);
      const live = liveTensors();
      const ours = bothThreadings(() => filterGrad(x, dy, c));
      // A tensor counts twice: itself and its backend data.
      assert.equal(liveTensors(), live + 2, 'no leaked tensors');
      assert.deepEqual(ours.shape, c.filter);
      const values = ours.dataSync();
      const { exact, magnitude, terms } = reference(
        x.dataSync() as Float32Array,
        dy.dataSync() as Float32Array,
        c,
      );
      assertWithin(values, exact, magnitude, gamma(terms), 'vs float64');
      const xnnpack = withXnnpack(() => filterGrad(x, dy, c));
      assertWithin(values, xnnpack.dataSync(), magnitude, 2 * gamma(terms), 'vs XNNPACK path');
      const cpu = await onCpu(x, dy, c);
      assertWithin(values, cpu, magnitude, 2 * gamma(terms), 'vs cpu backend');
      tf.dispose([x, dy, ours, xnnpack]);
    });
  });

  it('an empty batch gives zeros', function () {
    const c: Case = {
      name: 'empty',
      x: [0, 5, 5, 3],
      filter: [3, 3, 3, 6],
      strides: 1,
      pad: 'same',
    };
    const x = tf.zeros(c.x);
    const dy = tf.zeros([0, 5, 5, 6]);
    const ours = filterGrad(x, dy, c);
    assert.deepEqual(ours.shape, c.filter);
    assert.ok(ours.dataSync().every((v) => v === 0));
    tf.dispose([x, dy, ours]);
  });

  it('refuses NCHW, as the XNNPACK path does', function () {
    const x = fixed([1, 3, 6, 6], 1);
    const dy = fixed([1, 4, 6, 6], 2);
    const attrs = { strides: 1, pad: 'same', dataFormat: 'NCHW', filterShape: [3, 3, 3, 4] };
    const run = () => tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, attrs as never);
    assert.throws(run, /NHWC only/);
    assert.throws(() => withXnnpack(run), /NHWC only/);
    tf.dispose([x, dy]);
  });

  const GRAD_CASES: [string, Shape4, Shape4, number, 'same' | 'valid'][] = [
    ['conv2d k4 s2 same', [5, 10, 10, 6], [4, 4, 6, 10], 2, 'same'],
    ['conv2d k3 s1 valid', [3, 9, 8, 5], [3, 3, 5, 7], 1, 'valid'],
  ];
  for (const [name, xShape, wShape, s, pad] of GRAD_CASES) {
    it(`${name} and its transpose, through tf.grads: match the XNNPACK path`, function () {
      const x = fixed(xShape, 7, 0.6) as tf.Tensor4D;
      const w = fixed(wShape, 8) as tf.Tensor4D;
      const loss = () =>
        tf.grads((xi: tf.Tensor, wi: tf.Tensor) => {
          const y = tf.conv2d(xi as tf.Tensor4D, wi as tf.Tensor4D, s, pad);
          // conv2dTranspose's filter gradient is a Conv2DBackpropFilter with x and dy swapped.
          const back = tf.conv2dTranspose(tf.tanh(y), wi as tf.Tensor4D, xShape, s, pad);
          return tf.sum(tf.square(back));
        })([x, w]);
      const live = liveTensors();
      const ours = loss();
      assert.equal(liveTensors(), live + 2 * ours.length, 'no leaked tensors');
      const xnnpack = withXnnpack(loss);
      ours.forEach((g, k) => {
        const a = g.dataSync();
        const e = (xnnpack[k] as tf.Tensor).dataSync();
        let scale = 0;
        for (const v of e) scale = Math.max(scale, Math.abs(v));
        for (let j = 0; j < e.length; j++) {
          const d = Math.abs((a[j] as number) - (e[j] as number));
          assert.ok(d <= 1e-5 * scale, `gradient ${k}[${j}]: |diff| ${d} at scale ${scale}`);
        }
      });
      tf.dispose([x, w, ...ours, ...xnnpack]);
    });
  }

  it('keeps the tensor count flat over repeated calls', function () {
    const c = CASES[0] as Case;
    const x = fixed(c.x, 1);
    const dy = fixed(dyShape(c), 2);
    const live = liveTensors();
    for (let i = 0; i < 5; i++) filterGrad(x, dy, c).dispose();
    assert.equal(liveTensors(), live);
    tf.dispose([x, dy]);
  });
});
