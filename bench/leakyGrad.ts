/**
 * The LeakyRelu gradient on wasm, old against new inside one process: tfjs's composition
 * (Greater, Multiply, Select) against our fused IcganLeakyReluGrad kernel
 * (src/core/train/leakyReluGrad.ts, src/core/backend/wasmLeakyGradKernel.ts). On a machine
 * shared with other jobs, separate runs differ by more than the change, so the two alternate
 * call by call and step by step.
 *
 *   npx tsx bench/leakyGrad.ts [--calls 40] [--steps 20] [--warmup 4] [--workloads dcgan,icgan]
 *
 * 1. Per call: the registered gradient at DCGAN-32's three LeakyRelu activations (D, batch 64),
 *    median ms.
 * 2. Whole train steps (bench/ganWorkloads.ts, as trainStep.ts times them): the kernel is switched
 *    between consecutive steps of one session in ABBA order; median ms/step (min) and the median
 *    of the per-pair ratios.
 *
 * Prints the CPU model, the thread count and the load average before and after each part (the
 * load includes this process's own threads).
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/core/backend/backendChain';
import {
  registerWasmLeakyGradKernel,
  unregisterWasmLeakyGradKernel,
} from '../src/core/backend/wasmLeakyGradKernel';
import { fixedTensor } from '../test/support/fixedTensor';
import { alternateCalls, alternateSteps, fmt, machineLine, runBench, type Mode } from './abKernels';
import type { GanWorkload } from './ganWorkloads';
import { flag, loadAvg } from './harness';

/** D's activations at DCGAN-32 (dWidth 32, batch 64). */
const DCGAN_SHAPES = [
  [64, 16, 16, 32],
  [64, 8, 8, 64],
  [64, 4, 4, 128],
];

function useKernel(mode: Mode): void {
  if (mode === 'new') registerWasmLeakyGradKernel();
  else unregisterWasmLeakyGradKernel();
}

function perCall(calls: number): void {
  console.log(`\nPer call (${calls} each, alternating; median ms), load ${loadAvg()}:`);
  console.log('| activation | elements | old (Greater+Multiply+Select) | new | old/new |');
  console.log('|---|---|---|---|---|');
  const config = tf.getGradient(tf.LeakyRelu);
  if (config === undefined) throw new Error('LeakyRelu has no gradient');
  // The registered gradient alone, as backprop calls it (the forward op and the tape left out).
  const grad = (x: tf.Tensor, dy: tf.Tensor) =>
    tf.tidy(() => (config.gradFunc(dy, [x], { alpha: 0.2 }) as { x: () => tf.Tensor }).x());
  for (const shape of DCGAN_SHAPES) {
    const x = fixedTensor(shape, 1);
    const dy = fixedTensor(shape, 2);
    // No read-back: wasm kernels return synchronously, and copying 2 MB out of the heap
    // (0.5–8 ms here, with the allocation it makes) would swamp a sub-millisecond kernel.
    const t = alternateCalls(calls, useKernel, () => {
      const g = grad(x, dy);
      return () => g.dispose();
    });
    tf.dispose([x, dy]);
    console.log(
      `| [${shape}] | ${tf.util.sizeFromShape(shape)} | ${fmt(t.old)} | ${fmt(t.new)} | ${t.ratio.toFixed(2)} |`,
    );
  }
  console.log(`load after: ${loadAvg()}`);
}

async function perStep(workload: GanWorkload, steps: number, warmup: number): Promise<void> {
  const r = await alternateSteps(workload, steps, warmup, useKernel);
  console.log(
    `| ${workload} | ${r.loadBefore} → ${r.loadAfter} | ${r.cell.old} | ${r.cell.new} | ${r.ratio.toFixed(3)} |`,
  );
}

async function main(): Promise<void> {
  const calls = Number(flag('calls', '40'));
  const steps = Number(flag('steps', '20'));
  const warmup = Number(flag('warmup', '4'));
  const workloads = flag('workloads', 'dcgan').split(',') as GanWorkload[];
  await initBackend('wasm');
  if (process.env['ICGAN_WASM_NATIVE'] === '0') throw new Error('needs ICGAN_WASM_NATIVE unset');
  console.log(machineLine());
  try {
    perCall(calls);
    console.log(`\nWhole train steps (${steps} each, alternating; median ms/step (min)):`);
    console.log('| workload | load | old (stock gradient) | new (fused) | old/new per pair |');
    console.log('|---|---|---|---|---|');
    for (const workload of workloads) await perStep(workload, steps, warmup);
  } finally {
    useKernel('new');
  }
}

runBench(main);
