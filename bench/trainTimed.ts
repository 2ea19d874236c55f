import type { TrainConfig } from '../src/core/config/types';
import { trainNew } from '../src/core/train/trainJob';

/**
 * Trains a new run of `config` to its end: its folder and the wall time it took. Apart from
 * harness.ts so the speed benchmarks don't load the training engine.
 */
export async function trainTimed(
  config: TrainConfig,
): Promise<{ runDir: string; seconds: number }> {
  const started = performance.now();
  let runDir = '';
  await trainNew(config, {
    onEvent: (e) => {
      if (e.type === 'run-started') runDir = e.runDir;
    },
  });
  return { runDir, seconds: (performance.now() - started) / 1000 };
}
