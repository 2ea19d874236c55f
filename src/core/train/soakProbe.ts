import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import * as tf from '@tensorflow/tfjs-core';
import type { TrainConfig } from '../config/types';
import type { RunEvent } from '../../protocol/runnerEvents';
import { trainNew } from './trainJob';

/**
 * A long training with the process's memory sampled along the way: live tensors, resident set
 * and JS heap. The soak test (short) and bench/soak.ts (2,000 steps) both run it; a leak shows
 * as a slope.
 */
export interface MemorySample {
  step: number;
  numTensors: number;
  numBytes: number;
  rssMiB: number;
  heapMiB: number;
}

/**
 * A full garbage collection before each sample, so the figures are live memory rather than where
 * the collector happened to be in its sawtooth (the JS heap swings by ~100 MiB between
 * collections here, which hides or fakes a slope).
 */
function collector(): () => void {
  v8.setFlagsFromString('--expose-gc');
  const gc: unknown = vm.runInNewContext('gc');
  return typeof gc === 'function' ? (gc as () => void) : () => undefined;
}

export async function soak(config: TrainConfig, sampleEvery: number): Promise<MemorySample[]> {
  const samples: MemorySample[] = [];
  const gc = collector();
  const take = (step: number): void => {
    gc();
    const m = tf.memory();
    const u = process.memoryUsage();
    samples.push({
      step,
      numTensors: m.numTensors,
      numBytes: m.numBytes,
      rssMiB: u.rss / 2 ** 20,
      heapMiB: u.heapUsed / 2 ** 20,
    });
  };
  const ended = await trainNew(config, {
    onEvent: (e: RunEvent) => {
      if (e.type === 'step' && e.step % sampleEvery === 0) take(e.step);
    },
  });
  if (ended.status !== 'finished') throw new Error(`soak run ${ended.status}: ${ended.message}`);
  return samples;
}

/** Least-squares slope of `y` over `step`, per 1,000 steps. */
export function slopePer1000(samples: MemorySample[], y: (s: MemorySample) => number): number {
  const n = samples.length;
  if (n < 2) return 0;
  const mx = samples.reduce((a, s) => a + s.step, 0) / n;
  const my = samples.reduce((a, s) => a + y(s), 0) / n;
  let num = 0;
  let den = 0;
  for (const s of samples) {
    num += (s.step - mx) * (y(s) - my);
    den += (s.step - mx) ** 2;
  }
  return den === 0 ? 0 : (1000 * num) / den;
}
