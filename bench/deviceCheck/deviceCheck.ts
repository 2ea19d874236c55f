// The webgpu device check (bench/deviceCheck/run.sh runs the bundle on a lent GPU machine):
// the adapter, kernels and two training steps against the CPU backend, then the time of a
// DCGAN-32 and an IC-GAN-32 training step on webgpu at batch 64 and 256.
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend/backendChain';
import { releaseWebgpu } from '../../src/core/backend/webgpuBackend';
import { resolveConfig } from '../../src/core/config/loadConfig';
import { createShapesDataset } from '../../src/core/data/shapesDataset';
import { TrainingSession } from '../../src/core/train/trainingSession';
import { compareWithWebgpu } from '../../test/webgpu/kernelCheck';
import { syntheticInstances } from '../../test/support/syntheticInstances';

/** Median ms per training step (after warm-up: shader compilation happens in the first steps). */
async function timeStep(type: 'dcgan' | 'icgan', batchSize: number, reps: number): Promise<number> {
  const cfg = resolveConfig(
    {
      seed: 1,
      data: { source: 'shapes', count: 1024, resolution: 32 },
      model: { type, zDim: 64, gWidth: 32, dWidth: 32 },
      training: { batchSize },
    },
    '/tmp/device-check.icgan.json',
  );
  const data = createShapesDataset(cfg.data as never);
  const session = new TrainingSession(
    cfg,
    data,
    type === 'icgan' ? syntheticInstances(data.count, 128, 16) : null,
  );
  for (let i = 0; i < 3; i++) await session.trainStep();
  const before = tf.memory().numTensors;
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await session.trainStep();
    times.push(performance.now() - t0);
  }
  const leaked = tf.memory().numTensors - before;
  session.dispose();
  if (leaked !== 0) console.log(`  warning: ${leaked} tensors left over`);
  times.sort((a, b) => a - b);
  return times[times.length >> 1] ?? NaN;
}

async function main(): Promise<void> {
  const reps = Number(process.argv[2] ?? 10);
  const check = await compareWithWebgpu('cpu');
  console.log(`adapter: ${JSON.stringify(check.adapter)}`);
  const worst = Object.entries(check.errors).sort((a, b) => b[1] - a[1]);
  console.log('largest |webgpu − cpu| / (1 + |cpu|):');
  for (const [k, e] of worst) console.log(`  ${k.padEnd(24)} ${e.toExponential(2)}`);
  console.log(`leaks per step (cgan, icgan): ${JSON.stringify(check.leaks)}`);
  const report = await initBackend('webgpu');
  console.log(`backend: ${report.name} (${report.tfBackend})`);
  for (const type of ['dcgan', 'icgan'] as const) {
    for (const batch of [64, 256]) {
      const ms = await timeStep(type, batch, reps);
      console.log(
        `${type}-32 batch ${batch}: ${ms.toFixed(1)} ms/step (${((batch * 1000) / ms).toFixed(0)} img/s), median of ${reps}`,
      );
    }
  }
  releaseWebgpu();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);
