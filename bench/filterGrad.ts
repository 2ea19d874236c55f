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
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { initBackend } from '../src/core/backend/backendChain';
import type { Shape4 } from '../src/core/backend/convGeometry';
import { registerWasmConvKernels } from '../src/core/backend/wasmConvKernels';
import { fixedTensor } from '../test/support/fixedTensor';
import { ganSession, type GanWorkload } from './ganWorkloads';
import { flag, loadAvg, log, median } from './harness';

type Mode = 'old' | 'new';
const MODES: Mode[] = ['old', 'new'];

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

/** Consecutive pairs in ABBA order, so neither kernel always runs first. */
function pairOrder(i: number): Mode[] {
  return i % 2 === 0 ? MODES : [...MODES].reverse();
}

function fmt(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms.toFixed(1);
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
    const times: Record<Mode, number[]> = { old: [], new: [] };
    for (let i = 0; i < calls + 3; i++) {
      for (const mode of pairOrder(i)) {
        useKernel(mode);
        const t0 = performance.now();
        run();
        // The first calls compile and warm up (V8 tiers the wasm up in the background).
        if (i >= 3) times[mode].push(performance.now() - t0);
      }
    }
    tf.dispose([x, dy]);
    const macs = dyShape[0] * dyShape[1] * dyShape[2] * tf.util.sizeFromShape(filterShape);
    const [o, n] = [median(times.old), median(times.new)];
    console.log(
      `| [${xShape}] → [${dyShape}] ([${filterShape}]) | ${(macs / 1e6).toFixed(0)} M | ${fmt(o)} | ${fmt(n)} | ${(o / n).toFixed(2)} |`,
    );
  }
  console.log(`load after: ${loadAvg()}`);
}

async function perStep(workload: GanWorkload, steps: number, warmup: number): Promise<void> {
  const { session } = ganSession(workload);
  let kernelMs = 0;
  const step = async (mode: Mode): Promise<[number, number]> => {
    useKernel(mode);
    // Time the filter gradient's own calls: a wrapper around whichever kernel is registered (the
    // next useKernel puts the plain one back). wasm kernels return synchronously.
    const kernel = tf.getKernel(tf.Conv2DBackpropFilter, 'wasm');
    if (kernel === undefined) throw new Error('no Conv2DBackpropFilter for wasm');
    tf.unregisterKernel(tf.Conv2DBackpropFilter, 'wasm');
    tf.registerKernel({
      ...kernel,
      kernelFunc: (params) => {
        const t0 = performance.now();
        const out = kernel.kernelFunc(params);
        kernelMs += performance.now() - t0;
        return out;
      },
    });
    kernelMs = 0;
    const t0 = performance.now();
    await session.trainStep();
    return [performance.now() - t0, kernelMs];
  };
  for (let i = 0; i < warmup; i++) for (const mode of MODES) await step(mode);
  const loadBefore = loadAvg();
  const stepMs: Record<Mode, number[]> = { old: [], new: [] };
  const gradMs: Record<Mode, number[]> = { old: [], new: [] };
  for (let i = 0; i < steps; i++) {
    for (const mode of pairOrder(i)) {
      const [total, grad] = await step(mode);
      stepMs[mode].push(total);
      gradMs[mode].push(grad);
    }
    log(`${workload}: ${i + 1}/${steps}`);
  }
  session.dispose();
  const ratios = stepMs.old.map((o, i) => o / (stepMs.new[i] as number));
  const cell = (m: Mode) => `${fmt(median(stepMs[m]))} (${fmt(Math.min(...stepMs[m]))})`;
  console.log(
    `| ${workload} | ${loadBefore} → ${loadAvg()} | ${cell('old')} | ${cell('new')} | ${median(ratios).toFixed(2)} | ${fmt(median(gradMs.old))} → ${fmt(median(gradMs.new))} |`,
  );
}

async function main(): Promise<void> {
  const calls = Number(flag('calls', '40'));
  const steps = Number(flag('steps', '20'));
  const warmup = Number(flag('warmup', '4'));
  const workloads = flag('workloads', 'dcgan,icgan').split(',') as GanWorkload[];
  await initBackend('wasm');
  console.log(
    `${new Date().toISOString()}, ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, tfjs-wasm ${getThreadsCount()} thread(s)`,
  );
  try {
    perCall(calls);
    console.log(`\nWhole train steps (${steps} each, alternating; median ms/step (min)):`);
    console.log(
      '| workload | load | old (XNNPACK) | new | old/new per pair | filter grad ms/step |',
    );
    console.log('|---|---|---|---|---|---|');
    for (const workload of workloads) await perStep(workload, steps, warmup);
  } finally {
    useKernel('new');
  }
}

main().catch((err: unknown) => {
  log(String((err as Error).stack ?? err));
  process.exitCode = 1;
});
