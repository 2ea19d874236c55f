import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { createShapesDataset } from '../../src/core/data/shapesDataset';
import {
  registerWasmLeakyGradKernel,
  unregisterWasmLeakyGradKernel,
} from '../../src/core/backend/wasmLeakyGradKernel';
import {
  LEAKY_RELU_GRAD,
  registerLeakyReluGradient,
  unregisterLeakyReluGradient,
} from '../../src/core/train/leakyReluGrad';
import { TrainingSession } from '../../src/core/train/trainingSession';
import { fixedTensor, liveTensors } from '../support/fixedTensor';
import { makeTempDir } from './support/tempDir';
import { tinyConfig } from './support/tinyConfig';
import { itHasThreadsToSplitOver, onWasmBackend, threaded } from '../support/kernelChecks';

// The fused LeakyRelu gradient (src/core/train/leakyReluGrad.ts, native/icganKernels.c
// leaky_relu_grad) against tfjs's own gradient, where(greater(x, 0), dy, mul(dy, alpha)): the
// same bits on wasm on the calling thread alone and split over every thread, and the same values
// as the cpu backend, which runs the stock gradient. Run the file with ICGAN_WASM_THREADS=1 too
// for tfjs-wasm's single-threaded build.

const SIZES = [1, 3, 5, 63, 65, 1001, 65537];
const ALPHAS = [0, 0.2, 0.01, 1, -0.3];

/** x from the fixed stream with the edge cases the select must treat as tfjs does. */
function inputs(size: number, seed: number): { x: tf.Tensor; dy: tf.Tensor } {
  const x = fixedTensor([size], seed, 1);
  const dy = fixedTensor([size], seed + 1, 1);
  const xv = x.dataSync().slice();
  const dv = dy.dataSync().slice();
  tf.dispose([x, dy]);
  const xEdges = [0, -0, NaN, Infinity, -Infinity, 1e-45, -1e-45, 3e38, -3e38];
  const dEdges = [Infinity, -Infinity, -0, 0, NaN, 1e-45, -3e38, 3e38, 1];
  for (let i = 0; i < xEdges.length; i++) {
    // Spread over the vector body and the scalar tail alike.
    const at = (i * 7) % size;
    xv[at] = xEdges[i] as number;
    dv[(at + 3) % size] = dEdges[i] as number;
  }
  return { x: tf.tensor(xv, [size]), dy: tf.tensor(dv, [size]) };
}

function gradOf(x: tf.Tensor, dy: tf.Tensor, alpha: number): tf.Tensor {
  return tf.grad((t: tf.Tensor) => tf.leakyRelu(t, alpha))(x, dy);
}

function bits(t: tf.Tensor | Float32Array): number[] {
  const v = t instanceof Float32Array ? t : (t.dataSync() as Float32Array);
  return Array.from(new Uint32Array(v.slice().buffer));
}

/** Bits with every NaN as one pattern (JS on the cpu backend may store another NaN). */
function canonical(t: tf.Tensor | Float32Array): number[] {
  const v = t instanceof Float32Array ? t : (t.dataSync() as Float32Array);
  return bits(v).map((b, i) => (Number.isNaN(v[i]) ? 0x7fc00000 : b));
}

function assertSameBits(actual: number[], expected: number[], what: string): void {
  const i = actual.findIndex((b, j) => b !== expected[j]);
  assert.ok(
    i < 0,
    `${what}[${i}]: 0x${actual[i]?.toString(16)} vs 0x${expected[i]?.toString(16)} (stock)`,
  );
  assert.equal(actual.length, expected.length, `${what}: length`);
}

function withStock<T>(f: () => T): T {
  unregisterWasmLeakyGradKernel();
  try {
    return f();
  } finally {
    registerWasmLeakyGradKernel();
  }
}

describe('wasm fused LeakyRelu gradient (leakyReluGrad.ts, leaky_relu_grad)', function () {
  this.timeout(300_000);
  onWasmBackend(() => registerWasmLeakyGradKernel());

  it('is registered for wasm only, and the stock gradient is overridden once', function () {
    assert.ok(tf.getKernel(LEAKY_RELU_GRAD, 'wasm'));
    assert.equal(tf.getKernel(LEAKY_RELU_GRAD, 'cpu'), undefined);
    const g = tf.getGradient(tf.LeakyRelu);
    registerLeakyReluGradient();
    assert.equal(tf.getGradient(tf.LeakyRelu), g, 'registering twice changes nothing');
  });

  itHasThreadsToSplitOver();

  for (const size of SIZES) {
    for (const alpha of ALPHAS) {
      it(`[${size}] α ${alpha}: the stock gradient's bits, on 1 and on every thread`, function () {
        const { x, dy } = inputs(size, 10 * size + 1);
        const live = liveTensors();
        const single = threaded(Infinity, () => gradOf(x, dy, alpha));
        const split = threaded(0, () => gradOf(x, dy, alpha));
        const stock = withStock(() => gradOf(x, dy, alpha));
        // tfjs's own gradient function, not ours falling back to it.
        unregisterLeakyReluGradient();
        let original: tf.Tensor;
        try {
          original = gradOf(x, dy, alpha);
        } finally {
          registerLeakyReluGradient();
        }
        assertSameBits(bits(single), bits(stock), 'one thread');
        assertSameBits(bits(split), bits(stock), 'every thread');
        assertSameBits(bits(original), bits(stock), 'tfjs gradient');
        tf.dispose([single, split, stock, original]);
        assert.equal(liveTensors(), live, 'no leaked tensors');
        tf.dispose([x, dy]);
      });
    }
  }

  it('shapes other than 1-D, and an empty tensor', function () {
    const x = fixedTensor([3, 5, 7, 2], 5);
    const dy = fixedTensor([3, 5, 7, 2], 6);
    const ours = gradOf(x, dy, 0.2);
    const stock = withStock(() => gradOf(x, dy, 0.2));
    assert.deepEqual(ours.shape, [3, 5, 7, 2]);
    assertSameBits(bits(ours), bits(stock), '4-D');
    const empty = gradOf(tf.zeros([0, 4]), tf.zeros([0, 4]), 0.2);
    assert.deepEqual(empty.shape, [0, 4]);
    tf.dispose([x, dy, ours, stock, empty]);
  });

  it('matches the cpu backend (the stock gradient there) on the same values', async function () {
    const cases = SIZES.filter((s) => s <= 1001).flatMap((size) =>
      ALPHAS.map((alpha) => ({ size, alpha })),
    );
    const wasm = cases.map(({ size, alpha }) => {
      const { x, dy } = inputs(size, 10 * size + 1);
      const g = gradOf(x, dy, alpha);
      const out = { x: x.dataSync().slice(), dy: dy.dataSync().slice(), g: canonical(g) };
      tf.dispose([x, dy, g]);
      return out;
    });
    await tf.setBackend('cpu');
    try {
      cases.forEach(({ size, alpha }, i) => {
        const w = wasm[i] as (typeof wasm)[number];
        const [x, dy] = [tf.tensor(w.x, [size]), tf.tensor(w.dy, [size])];
        const g = gradOf(x, dy, alpha);
        assertSameBits(w.g, canonical(g), `cpu [${size}] α ${alpha}`);
        tf.dispose([x, dy, g]);
      });
    } finally {
      await tf.setBackend('wasm');
    }
  });

  it('runs one kernel for the gradient; numTensors stays flat', async function () {
    const x = fixedTensor([4, 8, 8, 16], 1);
    const dy = fixedTensor([4, 8, 8, 16], 2);
    const live = liveTensors();
    const kernels = async () => {
      const profiled = await tf.profile(() => gradOf(x, dy, 0.2));
      tf.dispose(profiled.result as tf.Tensor);
      return profiled.kernels.map((k) => k.name);
    };
    // tf.grad adds an Identity of its own; the gradient itself is the one kernel.
    const ours = (await kernels()).filter((k) => k !== tf.Identity);
    assert.deepEqual(ours, [tf.LeakyRelu, LEAKY_RELU_GRAD]);
    const stock = (await withStock(kernels)).filter((k) => k !== tf.Identity);
    assert.deepEqual(stock, [tf.LeakyRelu, tf.Greater, tf.Multiply, tf.Select]);
    const tensors = tf.memory().numTensors;
    const dataIds = tf.engine().backend.numDataIds();
    for (let i = 0; i < 10; i++) tf.dispose(gradOf(x, dy, 0.2));
    assert.equal(tf.memory().numTensors, tensors);
    assert.equal(tf.engine().backend.numDataIds(), dataIds);
    assert.equal(liveTensors(), live, 'no leaked tensors');
    tf.dispose([x, dy]);
  });

  it('a whole cgan training step is bit-identical with the fused gradient on and off', async function () {
    const { dir, cleanup } = makeTempDir('leakygrad');
    try {
      const cfg = tinyConfig(dir, { model: { type: 'cgan', zDim: 16, gWidth: 8, dWidth: 8 } });
      const data = createShapesDataset({ source: 'shapes', count: 64, resolution: 16, seed: 1 });
      const run = async (fused: boolean) => {
        if (!fused) unregisterWasmLeakyGradKernel();
        try {
          const session = new TrainingSession(cfg, data);
          const dGrads: number[][][] = [];
          session.probe = {
            discriminatorUpdate: (_real, _cond, _z, grads) => {
              dGrads.push([...grads.values()].map((g) => bits(g)));
            },
            generatorUpdate: () => undefined,
          };
          const profiled = await tf.profile(async () => {
            for (let i = 0; i < 2; i++) await session.trainStep();
          });
          const used = profiled.kernels.some((k) => k.name === LEAKY_RELU_GRAD);
          const params = [
            ...session.model.generatorParams.values(),
            ...session.model.discriminatorParams.values(),
          ].map((p) => bits(p));
          session.dispose();
          return { dGrads, params, used };
        } finally {
          registerWasmLeakyGradKernel();
        }
      };
      const on = await run(true);
      const off = await run(false);
      assert.ok(on.used, 'the fused kernel ran');
      assert.ok(!off.used, 'the stock gradient ran');
      assert.deepEqual(on.dGrads, off.dGrads, "D's gradients");
      assert.deepEqual(on.params, off.params, 'parameters after two steps');
    } finally {
      cleanup();
    }
  });
});
