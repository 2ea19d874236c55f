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
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { initBackend } from '../src/core/backend/backendChain';
import {
  registerWasmLeakyGradKernel,
  unregisterWasmLeakyGradKernel,
} from '../src/core/backend/wasmLeakyGradKernel';
import { fixedTensor } from '../test/support/fixedTensor';
import { ganSession, type GanWorkload } from './ganWorkloads';
import { flag, loadAvg, log, median } from './harness';

type Mode = 'old' | 'new';
const MODES: Mode[] = ['old', 'new'];

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

/** Consecutive pairs in ABBA order, so neither path always runs first. */
function pairOrder(i: number): Mode[] {
  return i % 2 === 0 ? MODES : [...MODES].reverse();
}

function fmt(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms >= 1 ? ms.toFixed(1) : ms.toFixed(2);
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
    const times: Record<Mode, number[]> = { old: [], new: [] };
    for (let i = 0; i < calls + 3; i++) {
      for (const mode of pairOrder(i)) {
        useKernel(mode);
        const t0 = performance.now();
        // No read-back: wasm kernels return synchronously, and copying 2 MB out of the heap
        // (0.5–8 ms here, with the allocation it makes) would swamp a sub-millisecond kernel.
        const g = grad(x, dy);
        if (i >= 3) times[mode].push(performance.now() - t0);
        g.dispose();
      }
    }
    tf.dispose([x, dy]);
    const [o, n] = [median(times.old), median(times.new)];
    console.log(
      `| [${shape}] | ${tf.util.sizeFromShape(shape)} | ${fmt(o)} | ${fmt(n)} | ${(o / n).toFixed(2)} |`,
    );
  }
  console.log(`load after: ${loadAvg()}`);
}

async function perStep(workload: GanWorkload, steps: number, warmup: number): Promise<void> {
  const { session } = ganSession(workload);
  const step = async (mode: Mode): Promise<number> => {
    useKernel(mode);
    const t0 = performance.now();
    await session.trainStep();
    return performance.now() - t0;
  };
  for (let i = 0; i < warmup; i++) for (const mode of MODES) await step(mode);
  const loadBefore = loadAvg();
  const stepMs: Record<Mode, number[]> = { old: [], new: [] };
  for (let i = 0; i < steps; i++) {
    for (const mode of pairOrder(i)) stepMs[mode].push(await step(mode));
    log(`${workload}: ${i + 1}/${steps}`);
  }
  session.dispose();
  const ratios = stepMs.old.map((o, i) => o / (stepMs.new[i] as number));
  const cell = (m: Mode) => `${fmt(median(stepMs[m]))} (${fmt(Math.min(...stepMs[m]))})`;
  console.log(
    `| ${workload} | ${loadBefore} → ${loadAvg()} | ${cell('old')} | ${cell('new')} | ${median(ratios).toFixed(3)} |`,
  );
}

async function main(): Promise<void> {
  const calls = Number(flag('calls', '40'));
  const steps = Number(flag('steps', '20'));
  const warmup = Number(flag('warmup', '4'));
  const workloads = flag('workloads', 'dcgan').split(',') as GanWorkload[];
  await initBackend('wasm');
  if (process.env['ICGAN_WASM_NATIVE'] === '0') throw new Error('needs ICGAN_WASM_NATIVE unset');
  console.log(
    `${new Date().toISOString()}, ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, tfjs-wasm ${getThreadsCount()} thread(s)`,
  );
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

main().catch((err: unknown) => {
  log(String((err as Error).stack ?? err));
  process.exitCode = 1;
});
