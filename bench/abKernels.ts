/**
 * The A/B harness of the kernel benches (filterGrad.ts, convForward.ts, leakyGrad.ts): an old and a new kernel
 * timed inside one process, alternating call by call and step by step in ABBA order, because on a
 * machine shared with other jobs separate runs differ by more than the change.
 */
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { initBackend } from '../src/core/backend/backendChain';
import { ganSession, type GanWorkload } from './ganWorkloads';
import { flag, loadAvg, log, median } from './harness';

export type Mode = 'old' | 'new';
const MODES: readonly Mode[] = ['old', 'new'];
/** Rounds dropped at the start: the first calls compile and V8 tiers the wasm up. */
const WARM_CALLS = 3;

/** Consecutive pairs in ABBA order, so neither kernel always runs first. */
function pairOrder(i: number): readonly Mode[] {
  return i % 2 === 0 ? MODES : [...MODES].reverse();
}

export function fmt(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms >= 1 ? ms.toFixed(1) : ms.toFixed(2);
}

/** The date, CPU, core count and tfjs-wasm thread count, for the head of a bench's output. */
export function machineLine(): string {
  return `${new Date().toISOString()}, ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, tfjs-wasm ${getThreadsCount()} thread(s)`;
}

/**
 * `calls` timings of `run` per mode, the modes alternating; medians with their ratio. What `run`
 * returns, if anything, is called after the timing (e.g. to dispose its result untimed).
 */
export function alternateCalls(
  calls: number,
  useKernel: (mode: Mode) => void,
  run: () => (() => void) | void,
): { old: number; new: number; ratio: number } {
  const times: Record<Mode, number[]> = { old: [], new: [] };
  for (let i = 0; i < calls + WARM_CALLS; i++) {
    for (const mode of pairOrder(i)) {
      useKernel(mode);
      const t0 = performance.now();
      const after = run();
      if (i >= WARM_CALLS) times[mode].push(performance.now() - t0);
      if (after) after();
    }
  }
  const [o, n] = [median(times.old), median(times.new)];
  return { old: o, new: n, ratio: o / n };
}

export interface StepComparison {
  loadBefore: string;
  loadAfter: string;
  /** "median (min)" ms/step per mode. */
  cell: Record<Mode, string>;
  /** Median over consecutive pairs of old/new. */
  ratio: number;
  /** Median per mode of what `measure` reported after each step. */
  measured: Record<Mode, number>;
}

/**
 * Whole train steps of one session (bench/ganWorkloads.ts, as trainStep.ts times them), the
 * kernel switched between consecutive steps in ABBA order after `warmup` steps of each.
 * `measure`, read after each step, reports something of the step's own (e.g. one kernel's time).
 */
export async function alternateSteps(
  workload: GanWorkload,
  steps: number,
  warmup: number,
  useKernel: (mode: Mode) => void,
  measure: () => number = () => 0,
): Promise<StepComparison> {
  const { session } = ganSession(workload);
  const step = async (mode: Mode): Promise<[number, number]> => {
    useKernel(mode);
    const t0 = performance.now();
    await session.trainStep();
    return [performance.now() - t0, measure()];
  };
  for (let i = 0; i < warmup; i++) for (const mode of MODES) await step(mode);
  const loadBefore = loadAvg();
  const stepMs: Record<Mode, number[]> = { old: [], new: [] };
  const measuredMs: Record<Mode, number[]> = { old: [], new: [] };
  for (let i = 0; i < steps; i++) {
    for (const mode of pairOrder(i)) {
      const [total, measured] = await step(mode);
      stepMs[mode].push(total);
      measuredMs[mode].push(measured);
    }
    log(`${workload}: ${i + 1}/${steps}`);
  }
  session.dispose();
  const cell = (m: Mode) => `${fmt(median(stepMs[m]))} (${fmt(Math.min(...stepMs[m]))})`;
  return {
    loadBefore,
    loadAfter: loadAvg(),
    cell: { old: cell('old'), new: cell('new') },
    ratio: median(stepMs.old.map((o, i) => o / (stepMs.new[i] as number))),
    measured: { old: median(measuredMs.old), new: median(measuredMs.new) },
  };
}

/**
 * alternateSteps with `kernelName`'s own calls timed: each switch wraps whichever kernel `useKernel`
 * registered (the next switch puts the plain one back). wasm kernels return synchronously.
 */
async function alternateKernelSteps(
  workload: GanWorkload,
  steps: number,
  warmup: number,
  kernelName: string,
  useKernel: (mode: Mode) => void,
): Promise<StepComparison> {
  let kernelMs = 0;
  const useTimedKernel = (mode: Mode): void => {
    useKernel(mode);
    const kernel = tf.getKernel(kernelName, 'wasm');
    if (kernel === undefined) throw new Error(`no ${kernelName} for wasm`);
    tf.unregisterKernel(kernelName, 'wasm');
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
  };
  return alternateSteps(workload, steps, warmup, useTimedKernel, () => kernelMs);
}

/**
 * The main of a kernel's A/B bench: --calls timings per call (`perCall`), then --steps whole
 * steps per --workloads with `kernelName`'s own time (0 steps: per call only); `oldLabel` names
 * the old side. The new kernel stays registered afterwards.
 */
export function runKernelBench(o: {
  kernelName: string;
  oldLabel: string;
  useKernel: (mode: Mode) => void;
  perCall: (calls: number) => void;
}): void {
  runBench(async () => {
    const calls = Number(flag('calls', '40'));
    const steps = Number(flag('steps', '20'));
    const warmup = Number(flag('warmup', '4'));
    const workloads = flag('workloads', 'dcgan,icgan').split(',') as GanWorkload[];
    await initBackend('wasm');
    console.log(machineLine());
    try {
      o.perCall(calls);
      if (steps <= 0) return;
      console.log(`\nWhole train steps (${steps} each, alternating; median ms/step (min)):`);
      console.log(
        `| workload | load | old (${o.oldLabel}) | new | old/new per pair | ${o.kernelName} ms/step |`,
      );
      console.log('|---|---|---|---|---|---|');
      for (const workload of workloads) {
        const r = await alternateKernelSteps(workload, steps, warmup, o.kernelName, o.useKernel);
        console.log(
          `| ${workload} | ${r.loadBefore} → ${r.loadAfter} | ${r.cell.old} | ${r.cell.new} | ${r.ratio.toFixed(2)} | ${fmt(r.measured.old)} → ${fmt(r.measured.new)} |`,
        );
      }
    } finally {
      o.useKernel('new');
    }
  });
}

/** Runs a bench's main, printing its error and setting the exit code on failure. */
export function runBench(main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    log(String((err as Error).stack ?? err));
    process.exitCode = 1;
  });
}
