import '@tensorflow/tfjs-core/dist/register_all_gradients';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend/backendChain';
import {
  registerCpuConvKernels,
  unregisterCpuConvKernels,
} from '../../src/core/backend/cpuConvKernels';
import {
  registerWasmConvKernels,
  unregisterWasmConvKernels,
} from '../../src/core/backend/wasmConvKernels';

type Shape4 = [number, number, number, number];
type Pad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;

interface ConvCase {
  name: string;
  x: Shape4;
  kernel: [number, number];
  outC: number;
  strides: number | [number, number];
  pad: Pad;
}

const CASES: ConvCase[] = [
  {
    name: 's1 same 7x9 k3 3→5 b1',
    x: [1, 7, 9, 3],
    kernel: [3, 3],
    outC: 5,
    strides: 1,
    pad: 'same',
  },
  {
    name: 's1 valid 5x5 k5 2→4 b2',
    x: [2, 5, 5, 2],
    kernel: [5, 5],
    outC: 4,
    strides: 1,
    pad: 'valid',
  },
  {
    name: 's1 same 5x5 k4 3→5 b5',
    x: [5, 5, 5, 3],
    kernel: [4, 4],
    outC: 5,
    strides: 1,
    pad: 'same',
  },
  {
    name: 's2 same 7x9 k3 3→5 b2',
    x: [2, 7, 9, 3],
    kernel: [3, 3],
    outC: 5,
    strides: 2,
    pad: 'same',
  },
  {
    name: 's2 valid 7x9 k4 3→5 b5',
    x: [5, 7, 9, 3],
    kernel: [4, 4],
    outC: 5,
    strides: 2,
    pad: 'valid',
  },
  {
    name: 's2 same 5x5 k5 3→5 b1',
    x: [1, 5, 5, 3],
    kernel: [5, 5],
    outC: 5,
    strides: 2,
    pad: 'same',
  },
  {
    name: 's2 same 8x8 k4 4→6 b2',
    x: [2, 8, 8, 4],
    kernel: [4, 4],
    outC: 6,
    strides: 2,
    pad: 'same',
  },
  {
    name: 's2 valid 8x8 k3 (unused tail)',
    x: [2, 8, 8, 3],
    kernel: [3, 3],
    outC: 5,
    strides: 2,
    pad: 'valid',
  },
  { name: 's2 pad=1 6x8 k4 3→5 b2', x: [2, 6, 8, 3], kernel: [4, 4], outC: 5, strides: 2, pad: 1 },
  {
    name: 's2 explicit 7x9 k3',
    x: [2, 7, 9, 3],
    kernel: [3, 3],
    outC: 5,
    strides: 2,
    pad: [
      [0, 0],
      [1, 2],
      [0, 1],
      [0, 0],
    ],
  },
  {
    name: 's1x2 same 7x9 k3x4',
    x: [2, 7, 9, 3],
    kernel: [3, 4],
    outC: 5,
    strides: [1, 2],
    pad: 'same',
  },
  {
    name: 's3 same 9x9 k5 3→4 b2',
    x: [2, 9, 9, 3],
    kernel: [5, 5],
    outC: 4,
    strides: 3,
    pad: 'same',
  },
];

/** Deterministic values in [-1, 1) so every run compares the same numbers. */
function randomValues(size: number, seed: number): Float32Array {
  const out = new Float32Array(size);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function dyShape(c: ConvCase): Shape4 {
  const info = tf.backend_util.computeConv2DInfo(
    c.x,
    [c.kernel[0], c.kernel[1], c.x[3], c.outC],
    c.strides,
    1,
    c.pad,
  );
  return [info.batchSize, info.outHeight, info.outWidth, info.outChannels];
}

interface Input {
  values: Float32Array;
  shape: number[];
}

/** Runs one kernel on `backend` with fresh tensors and returns a copy of its output. */
async function runKernelOn(
  backend: string,
  kernel: string,
  inputs: Record<string, Input>,
  attrs: object,
): Promise<Float32Array> {
  await tf.setBackend(backend);
  const tensors: Record<string, tf.Tensor> = {};
  for (const [name, { values, shape }] of Object.entries(inputs)) {
    tensors[name] = tf.tensor(values, shape);
  }
  const out = tf.engine().runKernel(kernel, tensors, attrs as tf.NamedAttrMap) as tf.Tensor;
  const data = Float32Array.from(out.dataSync());
  tf.dispose([out, ...Object.values(tensors)]);
  return data;
}

/** The stock tfjs-backend-cpu kernels, i.e. with our CPU replacement taken out for the call. */
async function withStockCpu<T>(body: () => Promise<T>): Promise<T> {
  unregisterCpuConvKernels();
  try {
    return await body();
  } finally {
    registerCpuConvKernels();
  }
}

function assertClose(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i] ?? 0));
    worst = Math.max(worst, Math.abs((actual[i] ?? 0) - (expected[i] ?? 0)));
  }
  assert.ok(scale > 0, `${what}: reference is all zeros`);
  assert.ok(worst <= 1e-4 * scale, `${what}: max |diff| ${worst} > 1e-4 × ${scale}`);
}

function filterGradInputs(c: ConvCase, seed: number): Record<string, Input> {
  const dy = dyShape(c);
  return {
    x: { values: randomValues(sizeOf(c.x), seed), shape: c.x },
    dy: { values: randomValues(sizeOf(dy), seed + 1), shape: dy },
  };
}

function inputGradInputs(c: ConvCase, seed: number): Record<string, Input> {
  const dy = dyShape(c);
  const filter = [c.kernel[0], c.kernel[1], c.x[3], c.outC];
  return {
    dy: { values: randomValues(sizeOf(dy), seed), shape: dy },
    filter: { values: randomValues(sizeOf(filter), seed + 1), shape: filter },
  };
}

function gradAttrs(c: ConvCase): { strides: ConvCase['strides']; pad: Pad; dataFormat: 'NHWC' } {
  return { strides: c.strides, pad: c.pad, dataFormat: 'NHWC' };
}

describe('conv gradient kernels', function () {
  let found: string | undefined;

  before(async function () {
    found = tf.getBackend();
    await initBackend('cpu');
    await initBackend('wasm');
  });

  after(async function () {
    if (found !== undefined) await tf.setBackend(found);
  });

  describe('Conv2DBackpropFilter matches the stock cpu kernel', function () {
    CASES.forEach((c, i) => {
      it(c.name, async function () {
        const inputs = filterGradInputs(c, 100 + i);
        const attrs = { ...gradAttrs(c), filterShape: [c.kernel[0], c.kernel[1], c.x[3], c.outC] };
        const kernel = tf.Conv2DBackpropFilter;
        const reference = await withStockCpu(() => runKernelOn('cpu', kernel, inputs, attrs));
        assertClose(await runKernelOn('wasm', kernel, inputs, attrs), reference, 'wasm');
        assertClose(await runKernelOn('cpu', kernel, inputs, attrs), reference, 'cpu');
      });
    });
  });

  describe('Conv2DBackpropInput (wasm) matches the stock cpu kernel', function () {
    CASES.forEach((c, i) => {
      it(c.name, async function () {
        const inputs = inputGradInputs(c, 200 + i);
        const attrs = { ...gradAttrs(c), inputShape: c.x };
        const kernel = tf.Conv2DBackpropInput;
        const reference = await runKernelOn('cpu', kernel, inputs, attrs);
        assertClose(await runKernelOn('wasm', kernel, inputs, attrs), reference, 'wasm');
      });
    });
  });

  describe('full gradients via tf.grads, wasm vs cpu', function () {
    const dcganDown: ConvCase = CASES[6]!;
    const oddValid: ConvCase = CASES[4]!;

    for (const c of [dcganDown, oddValid]) {
      it(`conv2d ${c.name}`, async function () {
        const wasm = await conv2dGrads('wasm', c);
        const cpu = await conv2dGrads('cpu', c);
        assertClose(wasm.dx, cpu.dx, 'dx');
        assertClose(wasm.dw, cpu.dw, 'dw');
      });

      it(`conv2dTranspose ${c.name}`, async function () {
        const wasm = await conv2dTransposeGrads('wasm', c);
        const cpu = await conv2dTransposeGrads('cpu', c);
        assertClose(wasm.y, cpu.y, 'y');
        assertClose(wasm.dx, cpu.dx, 'dx');
        assertClose(wasm.dw, cpu.dw, 'dw');
      });
    }

    it('leaves no tensors or backend buffers behind', async function () {
      await tf.setBackend('wasm');
      await conv2dGrads('wasm', dcganDown);
      await conv2dTransposeGrads('wasm', dcganDown);
      const before = tf.memory();
      const buffersBefore = tf.engine().backend.numDataIds();
      for (let i = 0; i < 5; i++) {
        await conv2dGrads('wasm', dcganDown);
        await conv2dTransposeGrads('wasm', dcganDown);
      }
      assert.equal(tf.memory().numTensors, before.numTensors);
      assert.equal(tf.memory().numDataBuffers, before.numDataBuffers);
      assert.equal(tf.engine().backend.numDataIds(), buffersBefore);
    });
  });

  describe('registration', function () {
    it('is idempotent and reversible', async function () {
      registerWasmConvKernels();
      registerWasmConvKernels();
      registerCpuConvKernels();
      registerCpuConvKernels();
      const c = CASES[3]!;
      const inputs = filterGradInputs(c, 7);
      const attrs = { ...gradAttrs(c), filterShape: [c.kernel[0], c.kernel[1], c.x[3], c.outC] };
      const kernel = tf.Conv2DBackpropFilter;
      const reference = await withStockCpu(() => runKernelOn('cpu', kernel, inputs, attrs));
      assertClose(await runKernelOn('wasm', kernel, inputs, attrs), reference, 'wasm');

      unregisterWasmConvKernels();
      assert.equal(tf.getKernel(kernel, 'wasm'), undefined);
      const stockInput = tf.getKernel(tf.Conv2DBackpropInput, 'wasm')?.kernelFunc;
      registerWasmConvKernels();
      assert.notEqual(tf.getKernel(tf.Conv2DBackpropInput, 'wasm')?.kernelFunc, stockInput);
    });

    it('rejects NCHW on wasm with a clear error instead of a wrong answer', async function () {
      const c = CASES[3]!;
      const inputs = filterGradInputs(c, 9);
      const attrs = {
        ...gradAttrs(c),
        dataFormat: 'NCHW',
        filterShape: [c.kernel[0], c.kernel[1], c.x[3], c.outC],
      };
      await assert.rejects(
        runKernelOn('wasm', tf.Conv2DBackpropFilter, inputs, attrs),
        /NHWC only/,
      );
    });
  });
});

/** Weights the output with fixed values so every output element gets a distinct gradient. */
function weightedSum(y: tf.Tensor, seed: number): tf.Scalar {
  return tf.sum(tf.mul(y, tf.tensor(randomValues(y.size, seed), y.shape)));
}

async function conv2dGrads(
  backend: string,
  c: ConvCase,
): Promise<{ dx: Float32Array; dw: Float32Array }> {
  await tf.setBackend(backend);
  const filterShape: Shape4 = [c.kernel[0], c.kernel[1], c.x[3], c.outC];
  const x = tf.tensor4d(randomValues(sizeOf(c.x), 1), c.x);
  const w = tf.tensor4d(randomValues(sizeOf(filterShape), 2), filterShape);
  const strides = c.strides;
  const pad = c.pad as 'same' | 'valid' | number;
  const f = (a: tf.Tensor, b: tf.Tensor): tf.Scalar =>
    weightedSum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, strides, pad), 3);
  const [dx, dw] = tf.grads(f)([x, w]);
  const result = { dx: Float32Array.from(dx!.dataSync()), dw: Float32Array.from(dw!.dataSync()) };
  tf.dispose([x, w, dx!, dw!]);
  return result;
}

async function conv2dTransposeGrads(
  backend: string,
  c: ConvCase,
): Promise<{ y: Float32Array; dx: Float32Array; dw: Float32Array }> {
  await tf.setBackend(backend);
  // conv2dTranspose maps the conv's output back to its input: here dy's shape → c.x.
  const inShape = dyShape(c);
  const filterShape: Shape4 = [c.kernel[0], c.kernel[1], c.x[3], c.outC];
  const x = tf.tensor4d(randomValues(sizeOf(inShape), 4), inShape);
  const w = tf.tensor4d(randomValues(sizeOf(filterShape), 5), filterShape);
  const pad = c.pad as 'same' | 'valid' | number;
  const forward = (a: tf.Tensor, b: tf.Tensor): tf.Tensor4D =>
    tf.conv2dTranspose(a as tf.Tensor4D, b as tf.Tensor4D, c.x, c.strides, pad);
  const f = (a: tf.Tensor, b: tf.Tensor): tf.Scalar => weightedSum(forward(a, b), 6);
  const [dx, dw] = tf.grads(f)([x, w]);
  const y = tf.tidy(() => forward(x, w));
  const result = {
    y: Float32Array.from(y.dataSync()),
    dx: Float32Array.from(dx!.dataSync()),
    dw: Float32Array.from(dw!.dataSync()),
  };
  tf.dispose([x, w, y, dx!, dw!]);
  return result;
}
