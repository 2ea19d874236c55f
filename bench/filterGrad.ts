/**
 * The conv filter gradient on wasm, old against new inside one process: the XNNPACK composition
 * (a dilated Conv2D between transposes) against our conv_filter_grad kernel
 * (src/core/backend/wasmConvKernels.ts). On a machine shared with other jobs, separate runs
 * differ by more than the change, so the two kernels alternate call by call and step by step.
 *
 *   npx tsx bench/filterGrad.ts [--calls 40] [--steps 20] [--warmup 4] [--workloads dcgan,icgan]
 *
 * 1. Per call: DCGAN-32's three filter-gradient shapes, the two kernels alternating, medians.
 * 2. Whole train steps (bench/ganWorkloads.ts, as trainStep.ts times them): the kernel is switched
 *    between consecutive steps of one session in ABBA order; median ms/step, the median of the
 *    per-pair ratios, and the filter-gradient calls' own time per step.
 *
 * Prints the CPU model, the thread count and the load average before and after each part (the
 * load includes this process's own threads).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Shape4 } from '../src/core/backend/convGeometry';
import { registerWasmConvKernels } from '../src/core/backend/wasmConvKernels';
import { fixedTensor } from '../test/support/fixedTensor';
import { alternateCalls, fmt, runKernelBench, type Mode } from './abKernels';
import { loadAvg } from './harness';

/** x, dy and filter of DCGAN-32's filter gradients (D's convs; G's transposed convs match). */
const DCGAN_CALLS: [Shape4, Shape4, Shape4][] = [
  [
    [64, 8, 8, 64],
    [64, 4, 4, 128],
    [4, 4, 64, 128],
  ],
  [
    [64, 16, 16, 32],
    [64, 8, 8, 64],
    [4, 4, 32, 64],
  ],
  [
    [64, 32, 32, 3],
    [64, 16, 16, 32],
    [4, 4, 3, 32],
  ],
];

function useKernel(mode: Mode): void {
  registerWasmConvKernels({ nativeFilterGrad: mode === 'new' });
}

function perCall(calls: number): void {
  console.log(`\nPer call (${calls} each, alternating; median ms), load ${loadAvg()}:`);
  console.log('| x → dy (filter) | multiply-adds | old (XNNPACK) | new | old/new |');
  console.log('|---|---|---|---|---|');
  for (const [xShape, dyShape, filterShape] of DCGAN_CALLS) {
    const x = fixedTensor(xShape, 1);
    const dy = fixedTensor(dyShape, 2);
    const attrs = { strides: 2, pad: 'same', dataFormat: 'NHWC', filterShape };
    const run = () => {
      const dw = tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, attrs as never);
      (dw as tf.Tensor).dataSync();
      (dw as tf.Tensor).dispose();
    };
    const t = alternateCalls(calls, useKernel, run);
    tf.dispose([x, dy]);
    const macs = dyShape[0] * dyShape[1] * dyShape[2] * tf.util.sizeFromShape(filterShape);
    console.log(
      `| [${xShape}] → [${dyShape}] ([${filterShape}]) | ${(macs / 1e6).toFixed(0)} M | ${fmt(t.old)} | ${fmt(t.new)} | ${t.ratio.toFixed(2)} |`,
    );
  }
  console.log(`load after: ${loadAvg()}`);
}

runKernelBench({ kernelName: tf.Conv2DBackpropFilter, oldLabel: 'XNNPACK', useKernel, perCall });
