import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend/backendChain';
import {
  registerWasmMatMulKernel,
  unregisterWasmMatMulKernel,
} from '../../src/core/backend/wasmMatMulKernel';
import {
  registerWasmTileKernel,
  unregisterWasmTileKernel,
} from '../../src/core/backend/wasmTileKernel';
import {
  registerWasmPadKernel,
  unregisterWasmPadKernel,
} from '../../src/core/backend/wasmPadKernel';
import { liveTensors } from '../support/fixedTensor';

// The wasm kernels registered next to the threaded build: BatchMatMul, which sends small and
// batched products to our own kernel and larger transposed ones to XNNPACK, and a block-copy
// Tile, and a PadV2 for small pads. All are compared with the stock wasm kernels they replace (and matMul with the cpu
// backend) on the backend as initBackend sets it up.

/** A fixed pseudo-random tensor. */
function fixed(shape: number[], seed: number, dtype: 'float32' | 'int32' | 'bool' = 'float32') {
  const size = shape.reduce((a, b) => a * b, 1);
  const values: number[] = [];
  let s = seed >>> 0;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const u = s / 2 ** 32;
    values.push(
      dtype === 'float32' ? 2 * u - 1 : dtype === 'int32' ? Math.floor(u * 1000) : +(u > 0.5),
    );
  }
  return tf.tensor(values, shape, dtype);
}

/** Runs `f` with the stock kernel in place of ours, then puts ours back. */
function withStock<T>(unregister: () => void, register: () => void, f: () => T): T {
  unregister();
  try {
    return f();
  } finally {
    register();
  }
}

function assertClose(actual: tf.Tensor, expected: tf.Tensor, what: string, rel = 1e-5): void {
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  const a = actual.dataSync();
  const e = expected.dataSync();
  let scale = 1;
  for (const v of e) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < e.length; i++) {
    const d = Math.abs((a[i] as number) - (e[i] as number));
    assert.ok(
      d <= rel * scale,
      `${what}: element ${i} is ${a[i]}, expected ${e[i]} (scale ${scale})`,
    );
  }
}

describe('wasm kernels (BatchMatMul, Tile, PadV2)', function () {
  this.timeout(300_000);
  let found: string | undefined;
  before(async () => {
    found = tf.getBackend();
    await initBackend('wasm');
  });
  after(async () => {
    if (found !== undefined) await tf.setBackend(found);
  });

  describe('BatchMatMul', function () {
    const cases: [string, number[], number[], boolean, boolean][] = [
      ['dense weight gradient xᵀ·dy (XNNPACK)', [64, 100], [64, 2048], true, false],
      ['dense input gradient dy·Wᵀ (XNNPACK)', [64, 2048], [100, 2048], false, true],
      ['no transpose (XNNPACK)', [130, 300], [300, 70], false, false],
      ['both transposed (ours)', [37, 19], [23, 37], true, true],
      ['outer product, k = 1 (ours)', [64, 1], [50, 1], false, true],
      ['column result (ours)', [64, 300], [64, 1], true, false],
      ['rank 3, batch 1 (ours)', [1, 40, 30], [1, 50, 40], true, true],
      ['no transpose (ours)', [33, 65], [65, 17], false, false],
      ['batched (ours)', [3, 20, 30], [3, 40, 30], false, true],
      ['broadcast batch (ours)', [1, 20, 30], [4, 30, 10], false, false],
    ];

    it('is the registered wasm kernel after initBackend', function () {
      const before = tf.getKernel(tf.BatchMatMul, 'wasm')?.kernelFunc;
      unregisterWasmMatMulKernel();
      const stock = tf.getKernel(tf.BatchMatMul, 'wasm')?.kernelFunc;
      registerWasmMatMulKernel();
      assert.notEqual(stock, undefined);
      assert.notEqual(before, stock);
      assert.equal(tf.getKernel(tf.BatchMatMul, 'wasm')?.kernelFunc, before);
    });

    for (const [name, aShape, bShape, ta, tb] of cases) {
      it(`${name}: matches the stock kernel and the cpu backend`, async function () {
        const a = fixed(aShape, 1);
        const b = fixed(bShape, 2);
        const mm = () => tf.matMul(a, b, ta, tb);
        const live = liveTensors();
        const ours = mm();
        // Our kernel must leave nothing behind but its result.
        assert.equal(liveTensors(), live + 2);
        const stock = withStock(unregisterWasmMatMulKernel, registerWasmMatMulKernel, mm);
        assertClose(ours, stock, `${name} vs stock wasm`);
        const [aV, bV] = [a.arraySync(), b.arraySync()];
        await tf.setBackend('cpu');
        const cpu = tf.matMul(tf.tensor(aV as number[]), tf.tensor(bV as number[]), ta, tb);
        const cpuValues = cpu.arraySync();
        cpu.dispose();
        await tf.setBackend('wasm');
        const expected = tf.tensor(cpuValues as number[]);
        assertClose(ours, expected, `${name} vs cpu`);
        tf.dispose([a, b, ours, stock, expected]);
      });
    }

    it('gives dense-layer gradients that match the stock kernel', function () {
      const x = fixed([16, 50], 3);
      const w = fixed([50, 70], 4);
      const grads = () =>
        tf.grads((xi: tf.Tensor, wi: tf.Tensor) =>
          tf.sum(tf.square(tf.matMul(xi as tf.Tensor2D, wi as tf.Tensor2D))),
        )([x, w]);
      const live = liveTensors();
      const ours = grads();
      assert.equal(liveTensors(), live + 2 * ours.length);
      const stock = withStock(unregisterWasmMatMulKernel, registerWasmMatMulKernel, grads);
      assertClose(ours[0] as tf.Tensor, stock[0] as tf.Tensor, 'dx');
      assertClose(ours[1] as tf.Tensor, stock[1] as tf.Tensor, 'dw');
      tf.dispose([x, w, ...ours, ...stock]);
    });
  });

  describe('Tile', function () {
    const cases: [number[], number[], 'float32' | 'int32' | 'bool'][] = [
      [[1, 1, 1, 32], [64, 16, 16, 1], 'float32'], // batch norm's gradient
      [[1, 1, 1, 5], [2, 3, 4, 1], 'float32'],
      [[7], [5], 'float32'],
      [[1], [9], 'float32'],
      [[3, 1], [2, 6], 'float32'],
      [[2, 3], [1, 1], 'float32'],
      [[3, 5, 7], [2, 3, 4], 'float32'],
      [[2, 1, 3, 1, 2], [2, 3, 1, 4, 2], 'float32'],
      [[4, 3], [3, 2], 'int32'],
      [[2, 1, 3], [3, 4, 2], 'bool'],
      [[0, 3], [2, 2], 'float32'],
      [[2, 3], [0, 2], 'int32'],
    ];
    for (const [shape, reps, dtype] of cases) {
      it(`[${shape}] × [${reps}] ${dtype}: equals the stock kernel`, function () {
        const x = fixed(shape, 5, dtype);
        const live = liveTensors();
        const ours = tf.tile(x, reps);
        assert.equal(liveTensors(), live + 2);
        const stock = withStock(unregisterWasmTileKernel, registerWasmTileKernel, () =>
          tf.tile(x, reps),
        );
        assert.equal(ours.dtype, dtype);
        assert.deepEqual(ours.shape, stock.shape);
        assert.deepEqual(Array.from(ours.dataSync()), Array.from(stock.dataSync()));
        tf.dispose([x, ours, stock]);
      });
    }

    it('gives batch-norm gradients that match the stock kernel', function () {
      const x = fixed([8, 6, 6, 16], 6);
      const scale = fixed([16], 7);
      const offset = fixed([16], 8);
      const grads = () =>
        tf.grads((xi: tf.Tensor, si: tf.Tensor, oi: tf.Tensor) => {
          const { mean, variance } = tf.moments(xi, [0, 1, 2]);
          return tf.sum(tf.square(tf.batchNorm(xi, mean, variance, oi, si, 1e-5)));
        })([x, scale, offset]);
      const ours = grads();
      const stock = withStock(unregisterWasmTileKernel, registerWasmTileKernel, grads);
      ours.forEach((g, i) => assertClose(g, stock[i] as tf.Tensor, `gradient ${i}`, 1e-6));
      tf.dispose([x, scale, offset, ...ours, ...stock]);
    });
  });
  describe('PadV2', function () {
    const cases: [number[], [number, number][], number][] = [
      [
        [32, 4],
        [
          [0, 32],
          [0, 0],
        ],
        0,
      ], // the gradient of slicing D's real half's class logits
      [[32], [[32, 0]], 0],
      [
        [3, 5],
        [
          [1, 2],
          [3, 0],
        ],
        1.5,
      ],
      [
        [2, 3, 4, 5],
        [
          [0, 0],
          [1, 1],
          [0, 2],
          [0, 0],
        ],
        -2,
      ],
      [
        [2, 3, 4],
        [
          [0, 0],
          [0, 0],
          [0, 0],
        ],
        7,
      ],
      [
        [1, 1, 1],
        [
          [2, 0],
          [0, 3],
          [1, 1],
        ],
        3.25,
      ],
      [
        [64, 32, 32, 3],
        [
          [0, 0],
          [4, 4],
          [4, 4],
          [0, 0],
        ],
        0,
      ], // large: the stock kernel
    ];
    for (const [shape, paddings, value] of cases) {
      it(`[${shape}] padded ${JSON.stringify(paddings)} with ${value}: equals the stock kernel`, function () {
        const x = fixed(shape, 9);
        const live = liveTensors();
        const ours = tf.pad(x, paddings, value);
        assert.equal(liveTensors(), live + 2);
        const stock = withStock(unregisterWasmPadKernel, registerWasmPadKernel, () =>
          tf.pad(x, paddings, value),
        );
        assert.deepEqual(ours.shape, stock.shape);
        const [a, b] = [ours.dataSync(), stock.dataSync()];
        const at = Array.from(a).findIndex((v, i) => !Object.is(v, b[i]));
        assert.equal(at, -1, `element ${at}: ${a[at]}, stock ${b[at]}`);
        tf.dispose([x, ours, stock]);
      });
    }
  });
});
