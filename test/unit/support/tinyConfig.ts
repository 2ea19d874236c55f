import { resolveConfig } from '../../../src/core/config/loadConfig';
import type { TrainConfig } from '../../../src/core/config/types';

/** A config small enough to train a few steps in well under a second per step. */
export function tinyConfigJson(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    seed: 7,
    data: { source: 'shapes', count: 256, resolution: 16 },
    model: { type: 'cgan', zDim: 16, gWidth: 8, dWidth: 8, embedDim: 8 },
    training: { steps: 12, batchSize: 8, logEvery: 1 },
    samples: { every: 6, count: 16 },
    checkpoints: { every: 6, keep: 2 },
    ...overrides,
  };
}

export function tinyConfig(runsDir: string, overrides: Record<string, unknown> = {}): TrainConfig {
  return resolveConfig(tinyConfigJson({ runsDir, ...overrides }), `${runsDir}/tiny.icgan.json`);
}
