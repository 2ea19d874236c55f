/**
 * Soak: 2,000 training steps of a small cGAN with memory sampled every 100 steps after a full
 * garbage collection — live tensors, resident set, JS heap — and the slope of each.
 *
 *   npx tsx bench/soak.ts [--steps 2000] [--every 100]
 */
import { initBackend } from '../src/core/backend/backendChain';
import { resolveConfig } from '../src/core/config/loadConfig';
import { slopePer1000, soak } from '../src/core/train/soakProbe';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

async function main(): Promise<void> {
  const steps = flag('--steps', 2000);
  const every = flag('--every', 100);
  const backend = await initBackend('auto');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'icgan-soak-'));
  const config = resolveConfig(
    {
      seed: 1,
      runsDir: dir,
      data: { source: 'shapes', count: 2000, resolution: 16 },
      model: { type: 'cgan', zDim: 32, gWidth: 16, dWidth: 16, embedDim: 16 },
      training: { steps, batchSize: 16, logEvery: every },
      samples: { every: 250, count: 16 },
      checkpoints: { every: 250, keep: 2 },
    },
    path.join(dir, 'soak.icgan.json'),
  );
  const started = Date.now();
  const samples = await soak(config, every);
  fs.rmSync(dir, { recursive: true, force: true });
  console.log(
    `soak: ${steps} steps of a 16×16 cGAN on ${backend.name} in ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
  console.log('| step | tensors | tensor MiB | RSS MiB | heap MiB |\n|---:|---:|---:|---:|---:|');
  for (const s of samples) {
    console.log(
      `| ${s.step} | ${s.numTensors} | ${(s.numBytes / 2 ** 20).toFixed(2)} | ${s.rssMiB.toFixed(1)} | ${s.heapMiB.toFixed(1)} |`,
    );
  }
  // The first few hundred steps are warm-up (lazy optimiser state, allocator arenas).
  const settled = samples.filter((s) => s.step >= Math.min(500, steps / 4));
  const tensors = new Set(settled.map((s) => s.numTensors));
  // RSS swings with the allocator returning pages to the OS; a leak shows as rising peaks.
  const half = settled.filter((s) => s.step <= steps / 2);
  const rest = settled.filter((s) => s.step > steps / 2);
  const peak = (xs: typeof samples): string => Math.max(...xs.map((s) => s.rssMiB)).toFixed(1);
  console.log(
    `after warm-up: tensors ${[...tensors].join('/')}; RSS peak ${peak(half)} MiB (first half) vs ${peak(rest)} MiB (second half); heap ${slopePer1000(settled, (s) => s.heapMiB).toFixed(2)} MiB per 1,000 steps`,
  );
}

void main();
