/**
 * Where a training step's milliseconds go: `tf.profile` around TrainingSession.trainStep() of a
 * bench workload (ganWorkloads.ts), kernel time summed by kernel name over --steps steps after
 * --warmup, with the step's wall-clock beside it so the share outside kernels (JavaScript, tape,
 * allocation) shows too.
 *
 *   npx tsx bench/profileStep.ts [--workload dcgan|icgan] [--steps 5] [--warmup 3]
 *
 * The wasm backend's kernels are synchronous, so a kernel's time is its wall-clock; `tf.profile`
 * adds a little per-kernel bookkeeping, so the kernel sum can exceed the unprofiled step slightly.
 */
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/core/backend/backendChain';
import { ganSession, type GanWorkload } from './ganWorkloads';
import { flag, loadAvg, log } from './harness';

interface KernelTotal {
  calls: number;
  ms: number;
}

async function main(): Promise<void> {
  const workload = flag('workload', 'dcgan') as GanWorkload;
  const steps = Number(flag('steps', '5'));
  const warmup = Number(flag('warmup', '3'));
  const backend = await initBackend('wasm');
  const { session } = ganSession(workload);
  for (let i = 0; i < warmup; i++) await session.trainStep();

  const totals = new Map<string, KernelTotal>();
  let wallMs = 0;
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    const info = await tf.profile(async () => {
      await session.trainStep();
    });
    wallMs += performance.now() - t0;
    for (const k of info.kernels) {
      const ms = await k.kernelTimeMs;
      const t = totals.get(k.name) ?? { calls: 0, ms: 0 };
      t.calls += 1;
      t.ms += typeof ms === 'number' ? ms : 0;
      totals.set(k.name, t);
    }
  }
  session.dispose();

  const rows = [...totals.entries()].sort((a, b) => b[1].ms - a[1].ms);
  const kernelMs = rows.reduce((s, [, t]) => s + t.ms, 0);
  const perStep = (ms: number): string => (ms / steps).toFixed(1);
  console.log(
    `${workload}, backend ${backend.name}, ${backend.threads} threads, ${steps} steps after ${warmup}; ` +
      `CPU ${os.cpus()[0]?.model ?? 'unknown'} × ${os.cpus().length}; load ${loadAvg()}`,
  );
  console.log('| kernel | calls/step | ms/step | share |');
  console.log('|---|---|---|---|');
  for (const [name, t] of rows) {
    if (t.ms / steps < 0.5) continue;
    const share = ((100 * t.ms) / kernelMs).toFixed(1);
    console.log(`| ${name} | ${t.calls / steps} | ${perStep(t.ms)} | ${share} % |`);
  }
  console.log(
    `| all kernels | ${rows.reduce((s, [, t]) => s + t.calls, 0) / steps} | ${perStep(kernelMs)} | |`,
  );
  console.log(`| step wall-clock (profiled) | | ${perStep(wallMs)} | |`);
}

main().catch((err: unknown) => {
  log(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
