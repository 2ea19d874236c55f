/**
 * Training-step benchmark of the DCGAN-32 reference model (shared/notes/tfjs-backends.md):
 * G dense 100→4·4·128, convT 64, 32, 3; D conv 32, 64, 128, dense 1; batch 64, Adam(2e-4, β1 0.5).
 * Every backend that loads here is measured in its own child process (a tfjs backend is
 * process-global), one after the other in the same run, so the figures are comparable.
 *
 *   npx tsx bench/trainStep.ts [--reps N] [--warmup N] [--backends wasm,cpu]
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { initBackend } from '../src/core/backend/backendChain';
import { resolveConfig } from '../src/core/config/loadConfig';
import { createShapesDataset } from '../src/core/data/shapesDataset';
import { countParameters } from '../src/core/models/paramStore';
import { TrainingSession } from '../src/core/train/trainingSession';

const BACKENDS = ['tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu'] as const;
type Backend = (typeof BACKENDS)[number];

interface Row {
  backend: Backend;
  ok: boolean;
  reason?: string;
  medianMs?: number;
  minMs?: number;
  reps?: number;
  params?: number;
}

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

/** Multiply–adds per image of each layer, from the reference architecture. */
function referenceFlopsPerStep(batch: number): number {
  const g = 100 * 2048 + 4 * 4 * 16 * 128 * 64 + 8 * 8 * 16 * 64 * 32 + 16 * 16 * 16 * 32 * 3;
  const d = 16 * 16 * 16 * 3 * 32 + 8 * 8 * 16 * 32 * 64 + 4 * 4 * 16 * 64 * 128 + 2048;
  // D update: forward and backward (≈2× forward) of D on real and fake, plus G forward for the
  // fakes. G update: G and D forward, D backward to its input only, G backward.
  const macs = batch * (3 * 2 * d + g + g + d + d + 2 * g);
  return 2 * macs;
}

async function child(backend: Backend, reps: number, warmup: number): Promise<void> {
  const row: Row = { backend, ok: false };
  try {
    await initBackend(backend);
  } catch (err) {
    row.reason = (err as Error).message.replace(/^backend '[^']+' could not be loaded: /, '');
    process.stdout.write(JSON.stringify(row));
    return;
  }
  const cfg = resolveConfig(
    {
      seed: 0,
      data: { source: 'shapes', count: 2048, resolution: 32 },
      model: { type: 'dcgan', zDim: 100, gWidth: 32, dWidth: 32 },
      training: { batchSize: 64, gLr: 2e-4, dLr: 2e-4, beta1: 0.5 },
    },
    path.join(__dirname, 'bench.icgan.json'),
  );
  const session = new TrainingSession(cfg, createShapesDataset(cfg.data as never));
  for (let i = 0; i < warmup; i++) session.trainStep();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    session.trainStep();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  Object.assign(row, {
    ok: true,
    medianMs: times[Math.floor(times.length / 2)],
    minMs: times[0],
    reps,
    params:
      countParameters(session.model.generatorParams) +
      countParameters(session.model.discriminatorParams),
  });
  process.stdout.write(JSON.stringify(row));
}

function main(): void {
  const reps = Number(flag('reps', '10'));
  const warmup = Number(flag('warmup', '2'));
  const wanted = flag('backends', BACKENDS.join(',')).split(',') as Backend[];
  const flops = referenceFlopsPerStep(64);
  const rows: Row[] = [];
  for (const backend of wanted) {
    process.stderr.write(`measuring ${backend}…\n`);
    const out = execFileSync(
      process.execPath,
      [
        ...process.execArgv,
        __filename,
        '--child',
        backend,
        '--reps',
        String(reps),
        '--warmup',
        String(warmup),
      ],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    rows.push(JSON.parse(out) as Row);
  }
  const fastest = Math.min(...rows.filter((r) => r.ok).map((r) => r.medianMs as number));
  console.log(
    `DCGAN-32 training step, batch 64, ${(flops / 1e9).toFixed(2)} GFLOP/step; median of ${reps} after ${warmup} warm-up steps`,
  );
  console.log('');
  console.log('| backend | ms/step (median) | min | GFLOP/s | × fastest |');
  console.log('|---|---|---|---|---|');
  for (const r of rows) {
    if (!r.ok) {
      console.log(`| ${r.backend} | not available: ${r.reason} | | | |`);
      continue;
    }
    const ms = r.medianMs as number;
    console.log(
      `| ${r.backend} | ${ms.toFixed(0)} | ${(r.minMs as number).toFixed(0)} | ${(flops / (ms / 1000) / 1e9).toFixed(2)} | ${(ms / fastest).toFixed(2)} |`,
    );
  }
  const params = rows.find((r) => r.ok)?.params;
  if (params !== undefined) console.log(`\nparameters: ${params.toLocaleString('en')}`);
}

if (process.argv.includes('--child')) {
  void child(
    process.argv[process.argv.indexOf('--child') + 1] as Backend,
    Number(flag('reps', '10')),
    Number(flag('warmup', '2')),
  );
} else {
  main();
}
