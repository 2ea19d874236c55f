import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend/backendChain';
import { resolveConfig } from '../../src/core/config/loadConfig';
import { createShapesDataset } from '../../src/core/data/shapesDataset';
import { TrainingSession } from '../../src/core/train/trainingSession';
import {
  planBinary,
  registerWasmElementwiseKernels,
  unregisterWasmElementwiseKernels,
} from '../../src/core/backend/wasmElementwiseKernels';
import {
  registerWasmConvKernels,
  unregisterWasmConvKernels,
} from '../../src/core/backend/wasmConvKernels';
import { NativeKernels, setPoolSpinMicroseconds } from '../../src/core/backend/wasmNativeKernels';
import { type BackendWasm, getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { fixedTensor, liveTensors } from '../support/fixedTensor';
import { bothThreadings, threaded } from '../support/kernelChecks';

// Our own WASM kernels (native/icganKernels.c) against the stock tfjs-wasm kernels they replace:
// element-wise ops bit-identical, reductions within float32 rounding of a float64 sum and closer
// to it than the stock kernel; every case once on the calling thread alone and once split over
// all threads (bit-identical); and whole training steps against the stock kernels.

function withStock<T>(f: () => T): T {
  unregisterWasmElementwiseKernels();
  try {
    return f();
  } finally {
    registerWasmElementwiseKernels();
  }
}

/** withStock for an asynchronous `f` (training steps await their reads). */
async function withStockAsync<T>(f: () => Promise<T>): Promise<T> {
  unregisterWasmElementwiseKernels();
  try {
    return await f();
  } finally {
    registerWasmElementwiseKernels();
  }
}

const BINARY_CASES: [string, number[], number[]][] = [
  ['same shape, odd size', [3, 5, 7, 9], [3, 5, 7, 9]],
  ['channel vector', [4, 6, 6, 13], [13]],
  ['channel vector first (flipped)', [1, 1, 1, 13], [4, 6, 6, 13]],
  ['per-sample', [5, 7, 3, 11], [5, 1, 1, 11]],
  ['column', [37, 5], [37, 1]],
  ['middle block', [2, 3, 4, 5], [2, 1, 1, 5]],
  ['scalar', [17, 33], []],
  ['scalar first', [], [3, 1031]],
  ['equal size, different rank', [1, 64], [64]],
  ['both broadcast (stock)', [4, 1], [1, 5]],
  ['split broadcast (stock)', [2, 3, 4], [1, 3, 1]],
  ['large', [64, 16, 16, 32], [32]],
];

describe('wasm native kernels (native/icganKernels.c)', function () {
  before(async function () {
    await initBackend('wasm');
    await tf.setBackend('wasm');
  });

  it('plan broadcasts as one [outer, mid, inner] block or hands them back', function () {
    assert.deepEqual(planBinary([4, 6, 6, 13], [13]), {
      kind: 'bcast',
      big: 'a',
      outer: 1,
      mid: 144,
      inner: 13,
    });
    assert.deepEqual(planBinary([5, 1, 1, 11], [5, 7, 3, 11]), {
      kind: 'bcast',
      big: 'b',
      outer: 5,
      mid: 21,
      inner: 11,
    });
    assert.deepEqual(planBinary([3], [2, 3]), {
      kind: 'bcast',
      big: 'b',
      outer: 1,
      mid: 2,
      inner: 3,
    });
    assert.deepEqual(planBinary([7], []), { kind: 'scalar', big: 'a', size: 7 });
    assert.equal(planBinary([2, 3, 4], [1, 3, 1]), null);
    assert.equal(planBinary([4, 1], [1, 5]), null);
    assert.equal(planBinary([0, 3], [3]), null);
  });

  it('uses as many threads as the backend', function () {
    assert.equal(NativeKernels.for(tf.backend() as BackendWasm).threads, getThreadsCount());
  });

  it('gives the same results with the pool polling between calls or sleeping', function () {
    // Back-to-back threaded calls, each reading the previous one's output: a worker that ran a
    // stale call, or missed one, would change the chain.
    const chain = (): number[] => {
      const out = tf.tidy(() => {
        let h = fixed([64, 512], 31);
        for (let i = 0; i < 40; i++) h = tf.tanh(tf.add(tf.mul(h, 1.01), 0.003 * i));
        return h;
      });
      const values = Array.from(out.dataSync());
      out.dispose();
      return values;
    };
    const spin = setPoolSpinMicroseconds(0);
    try {
      const sleeping = threaded(0, chain);
      setPoolSpinMicroseconds(300);
      const polling = threaded(0, chain);
      const single = threaded(Infinity, chain);
      assert.deepEqual(polling, sleeping);
      assert.deepEqual(polling, single);
    } finally {
      setPoolSpinMicroseconds(spin);
    }
  });

  it('leaves an inner-axis reduction to the stock kernel', function () {
    const x = fixed([3, 4], 9);
    const ours = tf.sum(x, 1);
    const stock = withStock(() => tf.sum(x, 1));
    assert.deepEqual(Array.from(ours.dataSync()), Array.from(stock.dataSync()));
    tf.dispose([x, ours, stock]);
  });

  for (const op of ['add', 'sub', 'mul', 'div'] as const) {
    for (const [name, aShape, bShape] of BINARY_CASES) {
      it(`${op} ${name} [${aShape}]·[${bShape}]: equals the stock kernel`, function () {
        const a = fixed(aShape, 1);
        const b = fixed(bShape, 2);
        const before = liveTensors();
        const ours = bothThreadings(() => tf[op](a, b));
        const stock = withStock(() => tf[op](a, b));
        assert.deepEqual(ours.shape, stock.shape);
        assert.deepEqual(Array.from(ours.dataSync()), Array.from(stock.dataSync()));
        tf.dispose([ours, stock]);
        assert.equal(liveTensors(), before, 'no leaked tensors');
        tf.dispose([a, b]);
      });
    }
  }

  const UNARY: [string, (x: tf.Tensor) => tf.Tensor][] = [
    ['square', (x) => tf.square(x)],
    ['relu', (x) => tf.relu(x)],
    ['leakyRelu 0.2', (x) => tf.leakyRelu(x, 0.2)],
    ['neg', (x) => tf.neg(x)],
    ['clipByValue [0, 1]', (x) => tf.clipByValue(x, 0, 1)],
    ['clipByValue [-0.25, 0.5]', (x) => tf.clipByValue(x, -0.25, 0.5)],
  ];
  for (const [name, f] of UNARY) {
    for (const shape of [[3, 5, 7], [64, 8, 8, 64], [1]]) {
      it(`${name} [${shape}]: equals the stock kernel`, function () {
        const x = fixed(shape, 3);
        const ours = bothThreadings(() => f(x));
        const stock = withStock(() => f(x));
        assert.deepEqual(Array.from(ours.dataSync()), Array.from(stock.dataSync()));
        tf.dispose([x, ours, stock]);
      });
    }
  }

  for (const [shape, size, stride, pad] of [
    [[64, 32, 32, 3], 2, 2, 'valid'],
    [[3, 9, 7, 5], 2, 2, 'valid'],
    [[2, 4, 4, 16], 2, 2, 'valid'],
    [[1, 2, 2, 1], 2, 2, 'valid'],
    [[2, 9, 9, 3], 3, 3, 'valid'],
    [[2, 8, 8, 4], 2, 2, 'same'],
    [[2, 8, 8, 4], 2, 1, 'valid'],
  ] as [number[], number, number, 'valid' | 'same'][]) {
    it(`avgPool ${size}×${size}/${stride} ${pad} [${shape}]: equals the stock kernel`, function () {
      const x = fixed(shape, 4) as tf.Tensor4D;
      const ours = bothThreadings(() => tf.avgPool(x, size, stride, pad));
      const stock = withStock(() => tf.avgPool(x, size, stride, pad));
      assert.deepEqual(ours.shape, stock.shape);
      assert.deepEqual(Array.from(ours.dataSync()), Array.from(stock.dataSync()));
      tf.dispose([x, ours, stock]);
    });
  }

  it('div and clipByValue treat zeros, infinities, NaN and subnormals as the stock kernels', function () {
    const special = [0, -0, 1, -1, Infinity, -Infinity, NaN, 1e-40, -1e-40, 3e38, 0.5, 2];
    const a = tf.tensor1d(special.flatMap((v) => special.map(() => v)));
    const b = tf.tensor1d(special.flatMap(() => special));
    const cases: [string, () => tf.Tensor][] = [
      ['div', () => tf.div(a, b)],
      ['div by a scalar', () => tf.div(a, tf.scalar(-0))],
      ['clip [0, 1]', () => tf.clipByValue(a, 0, 1)],
      ['clip [-0, 0]', () => tf.clipByValue(a, -0, 0)],
      ['clip [-1e-40, 3e38]', () => tf.clipByValue(a, -1e-40, 3e38)],
    ];
    for (const [name, f] of cases) {
      const ours = f();
      const stock = withStock(f);
      assert.deepEqual(Array.from(ours.dataSync()), Array.from(stock.dataSync()), name);
      tf.dispose([ours, stock]);
    }
    tf.dispose([a, b]);
  });

  describe('tanh (not bit-identical to the stock kernel: a polynomial and exp of our own)', function () {
    /** The spacing of float32 values at |v| (the smallest subnormal at 0). */
    function ulp32(v: number): number {
      const a = Math.abs(Math.fround(v));
      if (a < 2 ** -126) return 2 ** -149;
      return 2 ** (Math.floor(Math.log2(a)) - 23);
    }

    // A dense sweep over [-12, 12] (both branches, the switch at |x| = 0.625 and saturation)
    // plus tiny, subnormal and huge values; an odd count leaves lanes for the scalar tail.
    const values: number[] = [];
    for (let i = -60_000; i <= 60_000; i++) values.push(i * 2e-4);
    for (let i = -500; i <= 500; i++) values.push(0.625 + i * 1e-6);
    for (const v of [1e-30, 1e-40, 3e-8, 1e-4, 9, 9.01, 10, 10.5, 88, 1e10, 3.4e38]) {
      values.push(v, -v);
    }

    it('is within 2 ulp of the float64 tanh, threads bit-identical', function () {
      const x = tf.tensor1d(values);
      const ours = bothThreadings(() => tf.tanh(x));
      const stock = withStock(() => tf.tanh(x));
      const xs = x.dataSync();
      const o = ours.dataSync();
      const st = stock.dataSync();
      let worst = 0;
      let worstStock = 0;
      for (let i = 0; i < xs.length; i++) {
        const exact = Math.tanh(xs[i] as number);
        worst = Math.max(worst, Math.abs((o[i] as number) - exact) / ulp32(exact));
        worstStock = Math.max(worstStock, Math.abs((st[i] as number) - exact) / ulp32(exact));
      }
      assert.ok(worst <= 2, `ours: ${worst} ulp (stock ${worstStock} ulp)`);
      tf.dispose([x, ours, stock]);
    });

    it('keeps the sign of zero, NaN, and saturates at ±1 for ±∞', function () {
      const x = tf.tensor1d([0, -0, NaN, Infinity, -Infinity]);
      const t = tf.tanh(x);
      const y = Array.from(t.dataSync());
      assert.ok(Object.is(y[0], 0) && Object.is(y[1], -0), `zeros: ${y[0]}, ${y[1]}`);
      assert.ok(Number.isNaN(y[2]));
      assert.deepEqual(y.slice(3), [1, -1]);
      tf.dispose([x, t]);
    });
  });

  const REDUCTIONS: [number[], number[], boolean][] = [
    [[64, 16, 16, 32], [0, 1, 2], false],
    [[7, 5, 3, 13], [0, 1, 2], true],
    [[129, 3], [0], false],
    [[300, 7, 2], [0, 1], false],
    [[5, 4, 3], [0, 1, 2], false],
    [[100003], [0], true],
  ];
  for (const [shape, axes, keepDims] of REDUCTIONS) {
    for (const kind of ['sum', 'mean'] as const) {
      it(`${kind} [${shape}] over [${axes}]${keepDims ? ' keepDims' : ''}: closer to float64 than stock`, function () {
        const x = fixed(shape, 4);
        const ours = bothThreadings(() => tf[kind](x, axes, keepDims));
        const stock = withStock(() => tf[kind](x, axes, keepDims));
        assert.deepEqual(ours.shape, stock.shape);
        const exact = referenceReduce(x.dataSync() as Float32Array, shape, axes.length, kind);
        const o = ours.dataSync();
        const s = stock.dataSync();
        let errOurs = 0;
        let errStock = 0;
        for (let i = 0; i < exact.length; i++) {
          const e = exact[i] as number;
          errOurs = Math.max(errOurs, Math.abs((o[i] as number) - e));
          errStock = Math.max(errStock, Math.abs((s[i] as number) - e));
        }
        const scale = Math.max(1, ...Array.from(exact, Math.abs));
        assert.ok(errOurs <= 4e-6 * scale, `error ${errOurs} at scale ${scale}`);
        assert.ok(errOurs <= errStock + 1e-7 * scale, `ours ${errOurs} vs stock ${errStock}`);
        tf.dispose([x, ours, stock]);
      });
    }
  }

  // Conv2DBackpropInput with ≥ 16 dx channels: matrix product + col2im.
  const CONV_CASES: [string, number[], number, number, number | 'same' | 'valid'][] = [
    ['k4 s2 same b3', [3, 9, 7, 16], 4, 2, 'same'],
    ['k3 s1 same b1', [1, 6, 5, 17], 3, 1, 'same'],
    ['k5 s3 valid b2', [2, 11, 13, 24], 5, 3, 'valid'],
    ['k4 s2 pad 1 b2', [2, 8, 8, 20], 4, 2, 1],
    ['k2 s2 valid b4', [4, 6, 6, 32], 2, 2, 'valid'],
  ];
  for (const [name, xShape, k, s, pad] of CONV_CASES) {
    it(`conv input gradient ${name} [${xShape}]: matches the stock kernel`, function () {
      const outC = 7;
      const x = fixed(xShape, 11) as tf.Tensor4D;
      const w = fixed([k, k, xShape[3] as number, outC], 12) as tf.Tensor4D;
      const y = tf.conv2d(x, w, s, pad);
      const dy = fixed(y.shape, 13) as tf.Tensor4D;
      const run = () => tf.conv2dTranspose(dy, w, x.shape, s, pad);
      const ours = bothThreadings(run);
      unregisterWasmConvKernels();
      let stock: tf.Tensor;
      try {
        stock = run();
      } finally {
        registerWasmConvKernels();
      }
      const a = ours.dataSync();
      const e = stock.dataSync();
      let worst = 0;
      let size = 0;
      for (let j = 0; j < e.length; j++) {
        worst = Math.max(worst, Math.abs((a[j] as number) - (e[j] as number)));
        size = Math.max(size, Math.abs(e[j] as number));
      }
      assert.ok(size > 0 && worst <= 1e-5 * size, `max |diff| ${worst} at scale ${size}`);
      tf.dispose([x, w, y, dy, ours, stock]);
    });
  }

  it('batch-norm gradients equal the stock kernels within float32 rounding', function () {
    const x = fixed([16, 6, 6, 24], 6);
    const scale = fixed([24], 7);
    const offset = fixed([24], 8);
    const grads = () =>
      tf.grads((xi: tf.Tensor, si: tf.Tensor, oi: tf.Tensor) => {
        const { mean, variance } = tf.moments(xi, [0, 1, 2]);
        const y = tf.leakyRelu(tf.batchNorm(xi, mean, variance, oi, si, 1e-5), 0.2);
        return tf.sum(tf.mul(y, tf.square(y)));
      })([x, scale, offset]);
    const ours = grads();
    const stock = withStock(grads);
    ours.forEach((g, i) => {
      const a = g.dataSync();
      const e = (stock[i] as tf.Tensor).dataSync();
      let worst = 0;
      let size = 0;
      for (let j = 0; j < e.length; j++) {
        worst = Math.max(worst, Math.abs((a[j] as number) - (e[j] as number)));
        size = Math.max(size, Math.abs(e[j] as number));
      }
      assert.ok(worst <= 1e-3 * size, `gradient ${i}: ${worst} at scale ${size}`);
    });
    tf.dispose([x, scale, offset, ...ours, ...stock]);
  });

  it('whole DCGAN and cGAN training steps follow the stock kernels', async function () {
    this.timeout(300_000);
    const run = async (): Promise<number[]> => {
      const out: number[] = [];
      for (const model of [
        { type: 'dcgan', zDim: 32, gWidth: 16, dWidth: 16 },
        { type: 'cgan', zDim: 16, gWidth: 8, dWidth: 8, embedDim: 8 },
      ]) {
        const cfg = resolveConfig(
          {
            seed: 5,
            data: { source: 'shapes', count: 128, resolution: 16 },
            model,
            training: { batchSize: 16 },
          },
          path.join(__dirname, 'native.icgan.json'),
        );
        const session = new TrainingSession(cfg, createShapesDataset(cfg.data as never));
        for (let i = 0; i < 4; i++) {
          const s = await session.trainStep();
          out.push(s.dLoss, s.gLoss);
        }
        session.dispose();
      }
      return out;
    };
    const before = liveTensors();
    const ours = await run();
    const stock = await withStockAsync(run);
    assert.equal(liveTensors(), before, 'no leaked tensors');
    ours.forEach((v, i) => {
      const e = stock[i] as number;
      assert.ok(Math.abs(v - e) <= 2e-3 * Math.max(1, Math.abs(e)), `loss ${i}: ${v} vs ${e}`);
    });
  });
});

/** The float64 sum (or mean) of a row-major [rows, cols] array over its rows. */
function referenceReduce(
  x: Float32Array,
  shape: number[],
  leadingAxes: number,
  kind: 'sum' | 'mean',
): Float64Array {
  const rows = shape.slice(0, leadingAxes).reduce((a, b) => a * b, 1);
  const cols = x.length / rows;
  const out = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[c] = (out[c] as number) + (x[r * cols + c] as number);
  }
  if (kind === 'mean') for (let c = 0; c < cols; c++) out[c] = (out[c] as number) / rows;
  return out;
}

/** Inputs offset from zero, as activations are: makes cancellation in sums visible. */
function fixed(shape: number[], seed: number): tf.Tensor {
  return fixedTensor(shape, seed, 0.7);
}
