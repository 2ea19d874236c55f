import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { initBackend } from '../../src/core/backend/backendChain';
import { loadConfigFile } from '../../src/core/config/loadConfig';
import { createShapesDataset } from '../../src/core/data/shapesDataset';
import { TrainingSession } from '../../src/core/train/trainingSession';
import {
  registerWasmBatchNormKernels,
  unregisterWasmBatchNormKernels,
} from '../../src/core/backend/wasmBatchNormKernels';
import {
  registerWasmSpectralNormKernels,
  unregisterWasmSpectralNormKernels,
} from '../../src/core/backend/wasmSpectralNormKernels';
import {
  registerWasmMinibatchStdKernels,
  unregisterWasmMinibatchStdKernels,
} from '../../src/core/backend/wasmMinibatchStdKernels';
import {
  registerWasmPadKernel,
  unregisterWasmPadKernel,
} from '../../src/core/backend/wasmPadKernel';
import {
  registerWasmUpdateKernels,
  unregisterWasmUpdateKernels,
} from '../../src/core/backend/wasmUpdateKernels';
import {
  registerWasmLeakyGradKernel,
  unregisterWasmLeakyGradKernel,
} from '../../src/core/backend/wasmLeakyGradKernel';
import { setNativeMatMulMaxWork } from '../../src/core/backend/wasmMatMulKernel';
import { setPoolSpinMicroseconds } from '../../src/core/backend/wasmNativeKernels';
import { liveTensors } from '../support/fixedTensor';

// The kernels that replace composite ops or move work between kernels without changing a
// rounding — batch norm, spectral norm and minibatch std as one kernel each way, the Adam and EMA
// updates, the LeakyReLU gradient, the small-pad PadV2, the untransposed products kept off
// XNNPACK, the pool's polling — are claimed bit-identical, so whole training steps of the demo
// (spectral-norm D with minibatch std in groups and a class head, conditional batch norm in G)
// must give the same losses, weights and EMA weights to the last bit with each of them on or off.

/** The demo's config (its model, loss, optimiser and batch) on a few hundred images. */
const DEMO = path.join(__dirname, '..', '..', 'examples', 'shapes-cgan.icgan.json');

async function train(): Promise<number[]> {
  const cfg = loadConfigFile(DEMO);
  // At the demo's sizes G's dense layer is a 2^21 product and D's activations reach the pool.
  if (cfg.data.source !== 'shapes') throw new Error(`${DEMO}: not the shapes data set`);
  cfg.data = { ...cfg.data, count: 256 };
  const session = new TrainingSession(cfg, createShapesDataset(cfg.data));
  const out: number[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const s = await session.trainStep();
      out.push(s.dLoss, s.gLoss, s.dReal, s.dFake);
    }
    const { generatorParams, discriminatorParams } = session.model;
    for (const map of [generatorParams, discriminatorParams, session.ema]) {
      for (const v of map.values()) out.push(...v.dataSync());
    }
  } finally {
    session.dispose();
  }
  return out;
}

describe('whole training steps with and without the bit-identical kernels', function () {
  this.timeout(300_000);
  before(async () => {
    await initBackend('wasm');
  });

  const variants: [string, () => void, () => void][] = [
    ['batch norm', unregisterWasmBatchNormKernels, registerWasmBatchNormKernels],
    ['spectral norm', unregisterWasmSpectralNormKernels, registerWasmSpectralNormKernels],
    ['minibatch std', unregisterWasmMinibatchStdKernels, registerWasmMinibatchStdKernels],
    ['Adam and EMA updates', unregisterWasmUpdateKernels, registerWasmUpdateKernels],
    ['the LeakyReLU gradient', unregisterWasmLeakyGradKernel, registerWasmLeakyGradKernel],
    ['small pads', unregisterWasmPadKernel, registerWasmPadKernel],
    [
      'untransposed products to 2^22',
      () => setNativeMatMulMaxWork(1 << 20),
      () => setNativeMatMulMaxWork(null),
    ],
    ['pool polling', () => setPoolSpinMicroseconds(0), () => setPoolSpinMicroseconds(300)],
  ];

  let reference: number[] = [];
  before(async () => {
    reference = await train();
  });

  for (const [name, off, on] of variants) {
    it(`${name} off: the same losses and weights, bit for bit, no leaks`, async function () {
      const live = liveTensors();
      off();
      let got: number[];
      try {
        got = await train();
      } finally {
        on();
      }
      assert.equal(liveTensors(), live, 'no leaked tensors');
      assert.equal(got.length, reference.length);
      const at = got.findIndex((v, i) => !Object.is(v, reference[i]));
      assert.equal(at, -1, `value ${at}: ${got[at]}, with the kernel ${reference[at]}`);
    });
  }
});
