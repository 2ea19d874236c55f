/**
 * The forward Conv2D on wasm, old against new inside one process: XNNPACK (tfjs-wasm's stock
 * kernel) against our conv2d_forward (src/core/backend/wasmConvKernels.ts), alternating call by
 * call and step by step (bench/abKernels.ts), because on a shared machine separate runs differ by
 * more than the change.
 *
 *   npx tsx bench/convForward.ts [--calls 40] [--steps 20] [--warmup 4] [--workloads dcgan,icgan]
 *
 * 1. Per call: DCGAN-32's D convs (batch 64) and the stride-1 conv of the sub-pixel input gradient.
 * 2. Whole train steps: median ms/step, the median of per-pair ratios, and the Conv2D calls' own
 *    time per step.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Shape4 } from '../src/core/backend/convGeometry';
import { registerWasmConvKernels } from '../src/core/backend/wasmConvKernels';
import { fixedTensor } from '../test/support/fixedTensor';
import { alternateCalls, fmt, runKernelBench, type Mode } from './abKernels';
import { loadAvg } from './harness';

/** x, filter, stride and padding of the convs timed per call. */
const CALLS: [Shape4, Shape4, number, 'same' | number][] = [
  [[64, 32, 32, 3], [4, 4, 3, 32], 2, 'same'],
  [[64, 16, 16, 32], [4, 4, 32, 64], 2, 'same'],
  [[64, 8, 8, 64], [4, 4, 64, 128], 2, 'same'],
  // G's 4×4 → 8×8 transposed conv as the sub-pixel path runs it: dy 8×8×64 → phases of 128.
  [[64, 8, 8, 64], [2, 2, 64, 512], 1, 1],
];

function useKernel(mode: Mode): void {
  registerWasmConvKernels({ nativeForward: mode === 'new' });
}

function perCall(calls: number): void {
  console.log(`\nPer call (${calls} each, alternating; median ms), load ${loadAvg()}:`);
  console.log('| x (filter), stride | multiply-adds | old (XNNPACK) | new | old/new |');
  console.log('|---|---|---|---|---|');
  for (const [xShape, filterShape, strides, pad] of CALLS) {
    const x = fixedTensor(xShape, 1);
    const w = fixedTensor(filterShape, 2);
    const attrs = { strides, pad, dataFormat: 'NHWC', dilations: 1 };
    let outPixels = 0;
    const run = () => {
      const y = tf.engine().runKernel(tf.Conv2D, { x, filter: w }, attrs as never) as tf.Tensor;
      y.dataSync();
      outPixels = y.size / (filterShape[3] as number);
      y.dispose();
    };
    const t = alternateCalls(calls, useKernel, run);
    tf.dispose([x, w]);
    const macs = outPixels * tf.util.sizeFromShape(filterShape);
    console.log(
      `| [${xShape}] ([${filterShape}]), ${strides} | ${(macs / 1e6).toFixed(0)} M | ${fmt(t.old)} | ${fmt(t.new)} | ${t.ratio.toFixed(2)} |`,
    );
  }
  console.log(`load after: ${loadAvg()}`);
}

runKernelBench({ kernelName: tf.Conv2D, oldLabel: 'XNNPACK', useKernel, perCall });
