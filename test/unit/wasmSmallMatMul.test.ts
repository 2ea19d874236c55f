import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import {
  planNative,
  registerWasmMatMulKernel,
  setNativeMatMulMaxWork,
  unregisterWasmMatMulKernel,
} from '../../src/core/backend/wasmMatMulKernel';
import { fixedTensor as fixed, liveTensors } from '../support/fixedTensor';
import { assertWithin, bothThreadings, gamma, onWasmBackend } from '../support/kernelChecks';

// Our BatchMatMul kernel (native/icganKernels.c `matmul`) on every layout it takes: odd sizes,
// m, n or k of 1, all four transpose combinations, batched and broadcast batches. Each product
// runs once on the calling thread and once split over every thread (bit-identical), and is
// checked against a float64 product and the stock tfjs-wasm kernel.
//
// Tolerance: a float32 sum of k products, in any order, is within γ_k·Σ_p |a_ip·b_pj| of the
// exact value, γ_k = k·2⁻²⁴ / (1 − k·2⁻²⁴) (the standard recursive-summation bound, product
// rounding included). Ours must be within γ_k of the float64 product, and within 2·γ_k of the
// stock kernel (both are within γ_k).

function withStock<T>(f: () => T): T {
  unregisterWasmMatMulKernel();
  try {
    return f();
  } finally {
    registerWasmMatMulKernel();
  }
}

/** The float64 product and Σ_p |a_ip·b_pj| per element, batches broadcast as tfjs does. */
function reference(
  a: tf.Tensor,
  b: tf.Tensor,
  ta: boolean,
  tb: boolean,
): { exact: Float64Array; magnitude: Float64Array; k: number } {
  const av = a.dataSync();
  const bv = b.dataSync();
  const [a0, a1] = a.shape.slice(-2) as [number, number];
  const [b0, b1] = b.shape.slice(-2) as [number, number];
  const [m, k] = ta ? [a1, a0] : [a0, a1];
  const n = tb ? b0 : b1;
  const batchA = av.length / (m * k);
  const batchB = bv.length / (k * n);
  const batch = Math.max(batchA, batchB);
  const exact = new Float64Array(batch * m * n);
  const magnitude = new Float64Array(batch * m * n);
  for (let t = 0; t < batch; t++) {
    const ao = batchA === 1 ? 0 : t * m * k;
    const bo = batchB === 1 ? 0 : t * k * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = 0;
        let mag = 0;
        for (let p = 0; p < k; p++) {
          const x = av[ao + (ta ? p * m + i : i * k + p)] as number;
          const y = bv[bo + (tb ? j * k + p : p * n + j)] as number;
          sum += x * y;
          mag += Math.abs(x * y);
        }
        exact[(t * m + i) * n + j] = sum;
        magnitude[(t * m + i) * n + j] = mag;
      }
    }
  }
  return { exact, magnitude, k };
}

/** [m, n, k]: every loop form and its tails (rows of 4, columns of 8 and 4, p of 4). */
const SIZES: [number, number, number][] = [
  [1, 1, 1],
  [1, 5, 3],
  [5, 1, 3],
  [3, 5, 1],
  [17, 3, 5],
  [5, 17, 3],
  [9, 7, 8],
  [1040, 1, 1],
  [1, 1040, 1],
  [32, 1, 1040],
  [1, 17, 1040],
  [17, 5, 1040],
  [4, 1040, 4],
  [1040, 4, 4],
  [48, 16, 1],
  [33, 65, 17],
  [130, 67, 33],
];

/** Operand shapes for op(a) [m, k] and op(b) [k, n]. */
function shapes(m: number, n: number, k: number, ta: boolean, tb: boolean): [number[], number[]] {
  return [ta ? [k, m] : [m, k], tb ? [n, k] : [k, n]];
}

function check(aShape: number[], bShape: number[], ta: boolean, tb: boolean, seed: number): void {
  const a = fixed(aShape, seed);
  const b = fixed(bShape, seed + 1);
  assert.notEqual(planNative(a, b, { transposeA: ta, transposeB: tb }), null, 'routed to ours');
  const live = liveTensors();
  const ours = bothThreadings(() => tf.matMul(a, b, ta, tb));
  // A tensor counts twice: itself and its backend data.
  assert.equal(liveTensors(), live + 2, 'no leaked tensors');
  const stock = withStock(() => tf.matMul(a, b, ta, tb));
  assert.deepEqual(ours.shape, stock.shape);
  const { exact, magnitude, k } = reference(a, b, ta, tb);
  const values = ours.dataSync();
  assertWithin(values, exact, magnitude, gamma(k), 'vs float64');
  assertWithin(values, stock.dataSync(), magnitude, 2 * gamma(k), 'vs stock');
  tf.dispose([a, b, ours, stock]);
}

describe('wasm small-product BatchMatMul (native/icganKernels.c matmul)', function () {
  this.timeout(300_000);
  let limit: number | null = null;
  onWasmBackend(
    // Every product here on our kernel, whatever its size.
    () => (limit = setNativeMatMulMaxWork(Infinity)),
    () => setNativeMatMulMaxWork(limit),
  );

  for (const [m, n, k] of SIZES) {
    for (const [ta, tb] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ] as const) {
      it(`[${m}, ${k}]·[${k}, ${n}]${ta ? ' transposeA' : ''}${tb ? ' transposeB' : ''}`, function () {
        const [aShape, bShape] = shapes(m, n, k, ta, tb);
        check(aShape, bShape, ta, tb, m * 7 + n * 3 + k);
      });
    }
  }

  const BATCHED: [string, number[], number[], boolean, boolean][] = [
    ['batch 3', [3, 5, 7], [3, 7, 9], false, false],
    ['batch 3, both transposed', [3, 7, 5], [3, 9, 7], true, true],
    ['rank 4 batch [2, 3], transposeB', [2, 3, 6, 5], [2, 3, 1, 5], false, true],
    ['a broadcast over b', [1, 17, 6], [4, 6, 3], false, false],
    ['rank-2 b broadcast over a', [4, 6, 17], [6, 9], true, false],
    ['rank-2 a broadcast over b', [6, 1], [5, 3, 6], true, true],
  ];
  for (const [name, aShape, bShape, ta, tb] of BATCHED) {
    it(`${name}: [${aShape}]·[${bShape}]`, function () {
      check(aShape, bShape, ta, tb, aShape.length * 11 + bShape.length);
    });
  }

  it('leaves a mixed broadcast of the batch axes to the stock kernel', function () {
    const a = fixed([2, 1, 3, 4], 1);
    const b = fixed([1, 3, 4, 5], 2);
    assert.equal(planNative(a, b, { transposeA: false, transposeB: false }), null);
    const ours = tf.matMul(a, b);
    const stock = withStock(() => tf.matMul(a, b));
    assert.deepEqual(ours.shape, [2, 3, 3, 5]);
    assert.deepEqual(Array.from(ours.dataSync()), Array.from(stock.dataSync()));
    tf.dispose([a, b, ours, stock]);
  });

  it('gives dense-layer gradients within float32 rounding of the stock kernel', function () {
    const x = fixed([32, 17], 3);
    const w = fixed([17, 5], 4);
    const grads = () =>
      tf.grads((xi: tf.Tensor, wi: tf.Tensor) =>
        tf.sum(tf.square(tf.matMul(xi as tf.Tensor2D, wi as tf.Tensor2D))),
      )([x, w]);
    const live = liveTensors();
    const ours = grads();
    assert.equal(liveTensors(), live + 2 * ours.length);
    const stock = withStock(grads);
    ours.forEach((g, i) => {
      const a = g.dataSync();
      const e = (stock[i] as tf.Tensor).dataSync();
      for (let j = 0; j < e.length; j++) {
        const d = Math.abs((a[j] as number) - (e[j] as number));
        assert.ok(d <= 1e-5 * Math.max(1, Math.abs(e[j] as number)), `gradient ${i}[${j}]: ${d}`);
      }
    });
    tf.dispose([x, w, ...ours, ...stock]);
  });

  describe('routing', function () {
    const attrs = { transposeA: false, transposeB: true };
    it('sends batch-1 products above the limit to XNNPACK, batched ones never', function () {
      const previous = setNativeMatMulMaxWork(null);
      const big = [fixed([128, 128], 1), fixed([130, 128], 2)];
      const small = [fixed([64, 128], 3), fixed([128, 128], 4)];
      const batched = [fixed([2, 128, 128], 5), fixed([2, 128, 128], 6)];
      try {
        assert.equal(planNative(big[0] as tf.Tensor, big[1] as tf.Tensor, attrs), null);
        assert.deepEqual(planNative(small[0] as tf.Tensor, small[1] as tf.Tensor, attrs), {
          m: 64,
          n: 128,
          k: 128,
          batch: 1,
          strideA: 0,
          strideB: 0,
          transposeA: false,
          transposeB: true,
          outShape: [64, 128],
        });
        const plan = planNative(batched[0] as tf.Tensor, batched[1] as tf.Tensor, attrs);
        assert.equal(plan?.batch, 2);
        assert.equal(plan?.strideA, 128 * 128);
      } finally {
        setNativeMatMulMaxWork(previous);
        tf.dispose([...big, ...small, ...batched]);
      }
    });

    it('keeps untransposed-B products to 2^22 on ours, which equals XNNPACK bit for bit', function () {
      const previous = setNativeMatMulMaxWork(null);
      const plain = { transposeA: false, transposeB: false };
      const cases: [number[], number[], boolean][] = [
        [[32, 64], [64, 1024], false], // G's dense layer in the demo
        [[32, 64], [32, 1024], true], // its weight gradient, xᵀ·dy
        [[64, 128], [128, 512], false], // 2^22
      ];
      try {
        for (const [aShape, bShape, ta] of cases) {
          const [a, b] = [fixed(aShape, 7), fixed(bShape, 8)];
          const attrs = { transposeA: ta, transposeB: false };
          assert.notEqual(planNative(a, b, attrs), null, `[${aShape}]·[${bShape}] on ours`);
          const ours = tf.matMul(a, b, ta, false);
          setNativeMatMulMaxWork(0);
          const xnn = tf.matMul(a, b, ta, false);
          setNativeMatMulMaxWork(null);
          const [o, x] = [ours.dataSync(), xnn.dataSync()];
          const at = o.findIndex((v, i) => v !== x[i]);
          assert.equal(at, -1, `[${aShape}]·[${bShape}] element ${at}: ${o[at]}, XNNPACK ${x[at]}`);
          tf.dispose([a, b, ours, xnn]);
        }
        const [a, b] = [fixed([64, 128], 9), fixed([128, 1024], 10)];
        assert.equal(planNative(a, b, plain), null, '2^23 goes to XNNPACK');
        tf.dispose([a, b]);
      } finally {
        setNativeMatMulMaxWork(previous);
      }
    });

    it('is off when registered with native: false (ICGAN_WASM_NATIVE=0)', function () {
      // Not transposed, so with ours off the product is the stock kernel's, bit for bit.
      const plain = { transposeA: false, transposeB: false };
      const [a, b] = [fixed([3, 4], 1), fixed([4, 5], 2)];
      try {
        registerWasmMatMulKernel({ native: false });
        assert.equal(planNative(a, b, plain), null);
        const off = tf.matMul(a, b);
        const stock = withStock(() => tf.matMul(a, b));
        assert.deepEqual(Array.from(off.dataSync()), Array.from(stock.dataSync()));
        tf.dispose([off, stock]);
      } finally {
        registerWasmMatMulKernel({ native: true });
      }
      assert.notEqual(planNative(a, b, plain), null);
      tf.dispose([a, b]);
    });

    it('leaves int32 and empty products to the stock kernel', function () {
      const i = tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32');
      const e = tf.zeros([0, 3]);
      const f = fixed([3, 2], 1);
      assert.equal(planNative(i, i, attrs), null);
      assert.equal(planNative(e, f, { transposeA: false, transposeB: false }), null);
      tf.dispose([i, e, f]);
    });
  });
});
