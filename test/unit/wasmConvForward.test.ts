import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
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

// Our Conv2D (native/icganKernels.c conv2d_forward) over odd shapes, strides, paddings, batch
// sizes, channel counts off the kernel's 4-pixel × 8-channel register tile (both tails), against
// a float64 sum, XNNPACK (the stock kernel it replaces) and tfjs's cpu backend; every case once on
// the calling thread and once split over every thread (bit-identical).
//
// Tolerance: an output is a float32 sum of n = KH·KW·C products (the taps in the padding add
// zeros), within γ_n·Σ|x·w| of the exact value in any order; ours must be within γ_n of the
// float64 sum and within 2·γ_n of XNNPACK and the cpu kernel (each within γ_n itself).

/**
 * The stock wasm kernel gets these wrong (it does not apply the rounding mode to the padding:
 * some outputs come out 0), so ours is held to float64 and the cpu backend only.
 */
const STOCK_WRONG = new Set(['pad 2 with ceil rounding']);

type Case = ConvCase;

const CASES: Case[] = [
  ...CONV_CASES,
  {
    name: 'sub-pixel phases (k2, Co 12)',
    x: [4, 10, 10, 32],
    filter: [2, 2, 32, 12],
    strides: 1,
    pad: 1,
  },
  { name: 'wide rows (OW 33)', x: [2, 3, 33, 8], filter: [1, 3, 8, 24], strides: 1, pad: 'same' },
  { name: 'Co 21, Ci 1', x: [1, 6, 6, 1], filter: [3, 3, 1, 21], strides: 1, pad: 'same' },
];

function attrsOf(c: Case): tf.Conv2DAttrs {
  return {
    strides: c.strides,
    pad: c.pad as tf.Conv2DAttrs['pad'],
    dataFormat: 'NHWC',
    dilations: 1,
    dimRoundingMode: c.dimRoundingMode,
  };
}

function conv(x: tf.Tensor, filter: tf.Tensor, attrs: tf.Conv2DAttrs): tf.Tensor {
  return tf.engine().runKernel(tf.Conv2D, { x, filter }, attrs as never) as tf.Tensor;
}

/** The float64 result and Σ|x·w| per output. */
function reference(
  x: Float32Array,
  w: Float32Array,
  c: Case,
): { exact: Float64Array; magnitude: Float64Array; terms: number } {
  const g = geometryOf(c);
  const size = g.batch * g.outH * g.outW * g.outC;
  const exact = new Float64Array(size);
  const magnitude = new Float64Array(size);
  for (let b = 0; b < g.batch; b++) {
    for (let oy = 0; oy < g.outH; oy++) {
      for (let ox = 0; ox < g.outW; ox++) {
        const base = ((b * g.outH + oy) * g.outW + ox) * g.outC;
        for (let ky = 0; ky < g.kH; ky++) {
          const iy = oy * g.sH - g.padTop + ky;
          if (iy < 0 || iy >= g.inH) continue;
          for (let kx = 0; kx < g.kW; kx++) {
            const ix = ox * g.sW - g.padLeft + kx;
            if (ix < 0 || ix >= g.inW) continue;
            for (let ci = 0; ci < g.inC; ci++) {
              const xv = x[((b * g.inH + iy) * g.inW + ix) * g.inC + ci] as number;
              for (let co = 0; co < g.outC; co++) {
                const p = xv * (w[((ky * g.kW + kx) * g.inC + ci) * g.outC + co] as number);
                exact[base + co] = (exact[base + co] as number) + p;
                magnitude[base + co] = (magnitude[base + co] as number) + Math.abs(p);
              }
            }
          }
        }
      }
    }
  }
  return { exact, magnitude, terms: g.kH * g.kW * g.inC };
}

/** `f` with the forward conv on the stock XNNPACK kernel, then ours back. */
function withXnnpack<T>(f: () => T): T {
  registerWasmConvKernels({ nativeForward: false });
  try {
    return f();
  } finally {
    registerWasmConvKernels({ nativeForward: true });
  }
}

describe('wasm Conv2D (native/icganKernels.c conv2d_forward)', function () {
  this.timeout(300_000);
  onWasmBackend(() => registerWasmConvKernels({ nativeForward: true }));

  itHasThreadsToSplitOver();

  CASES.forEach((c, i) => {
    it(`${c.name}: x [${c.x}], filter [${c.filter}]`, async function () {
      const x = fixed(c.x, 300 + i, 0.6);
      const w = fixed(c.filter, 400 + i);
      const live = liveTensors();
      const ours = bothThreadings(() => conv(x, w, attrsOf(c)));
      // A tensor counts twice: itself and its backend data.
      assert.equal(liveTensors(), live + 2, 'no leaked tensors');
      const g = geometryOf(c);
      assert.deepEqual(ours.shape, [g.batch, g.outH, g.outW, g.outC]);
      const values = ours.dataSync();
      const { exact, magnitude, terms } = reference(
        x.dataSync() as Float32Array,
        w.dataSync() as Float32Array,
        c,
      );
      assertWithin(values, exact, magnitude, gamma(terms), 'vs float64');
      const cpu = await onCpuBackend([x, w], ([cx, cw]) => conv(cx!, cw!, attrsOf(c)));
      assertWithin(values, cpu, magnitude, 2 * gamma(terms), 'vs cpu backend');
      const xnnpack = withXnnpack(() => conv(x, w, attrsOf(c)));
      if (STOCK_WRONG.has(c.name)) {
        assert.throws(() => assertWithin(xnnpack.dataSync(), exact, magnitude, 1e-3, 'stock'));
      } else {
        assertWithin(values, xnnpack.dataSync(), magnitude, 2 * gamma(terms), 'vs XNNPACK');
      }
      tf.dispose([x, w, ours, xnnpack]);
    });
  });

  it('hands a dilated conv to the stock kernel, with the same result as the cpu backend', async function () {
    const c: Case = {
      name: 'dilated',
      x: [2, 9, 9, 3],
      filter: [3, 3, 3, 5],
      strides: 1,
      pad: 'same',
    };
    const attrs: tf.Conv2DAttrs = { ...attrsOf(c), dilations: 2 };
    const x = fixed(c.x, 900, 0.6);
    const w = fixed(c.filter, 901);
    const ours = conv(x, w, attrs);
    const expected = await onCpuBackend([x, w], ([cx, cw]) => conv(cx!, cw!, attrs));
    const got = Array.from(ours.dataSync());
    assert.equal(got.length, expected.length);
    got.forEach((v, k) => assert.ok(Math.abs(v - (expected[k] as number)) < 1e-4, `element ${k}`));
    tf.dispose([x, w, ours]);
  });

  it('an empty batch gives an empty result', function () {
    const x = tf.zeros([0, 5, 5, 3]);
    const w = tf.ones([3, 3, 3, 6]);
    const y = conv(
      x,
      w,
      attrsOf({ name: '', x: [0, 5, 5, 3], filter: [3, 3, 3, 6], strides: 1, pad: 'same' }),
    );
    assert.deepEqual(y.shape, [0, 5, 5, 6]);
    tf.dispose([x, w, y]);
  });
});
