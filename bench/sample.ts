/**
 * Sampling latency: a 4×4 grid at 32×32 from a saved run, as `icgan sample` writes it.
 *
 *   cold  a new process: `node dist/cli.js sample <run> -n 16 --out …`, the wall time of the
 *         whole process (Node start, bundle load, backend init, checkpoint read, generation,
 *         PNG). Target ≤ 2 s.
 *   warm  in this process, after a first call: only the generation and the PNG — noise,
 *         conditions, the EMA generator's forward pass, tiling, PNG encoding and the file write,
 *         i.e. sampleRun() without loading the checkpoint. Target ≤ 50 ms.
 * Also shown: the whole in-process sampleRun() (checkpoint load included), for reference.
 *
 *   npx tsx bench/sample.ts [--run <run-dir>] [--reps 10] [--warmup 1] [--count 16]
 *                           [--config examples/shapes-cgan.icgan.json] [--train-steps 2]
 *                           [--backend auto] [--keep]
 *
 * Without --run, a run of --config (default the class-conditional shapes example: the real model
 * size, so the real generator cost) is trained for --train-steps steps into a temporary folder,
 * which is deleted afterwards unless --keep. The cold figures use the built CLI: run
 * `npm run build` first so that dist/ matches the sources.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend, type BackendName } from '../src/core/backend/backendChain';
import { writeFileAtomic } from '../src/core/checkpoint/atomicWrite';
import { tileGrid } from '../src/core/image/imageGrid';
import { encodePng } from '../src/core/image/pngEncode';
import { Rng } from '../src/core/random/rng';
import { generateImages, gridColumns, gridConditions } from '../src/core/sampling/generateImages';
import { loadGenerator, type LoadedGenerator } from '../src/core/sampling/loadGenerator';
import { sampleRun } from '../src/core/sampling/sampleRun';
import { flag, loadAvg, log, median } from './harness';

const ROOT = path.resolve(__dirname, '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const WARM_TARGET_MS = 50;
const COLD_TARGET_MS = 2000;

class BenchError extends Error {}

function int(name: string, fallback: number, min: number): number {
  const v = Number(flag(name, String(fallback)));
  if (!Number.isInteger(v) || v < min) throw new BenchError(`--${name} takes an integer ≥ ${min}`);
  return v;
}

/** Trains a short run of `config` into `runsDir` with the built CLI; returns the run folder. */
function trainTinyRun(config: string, steps: number, runsDir: string, backend: string): string {
  log(`training ${path.relative(ROOT, config)} for ${steps} steps into ${runsDir}…`);
  const t0 = performance.now();
  const r = spawnSync(
    process.execPath,
    [CLI, 'train', config, '--steps', String(steps), '--runs-dir', runsDir, '--backend', backend],
    { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] },
  );
  if (r.status !== 0) {
    throw new BenchError(`training failed (exit ${r.status ?? r.signal}):\n${r.stderr.trim()}`);
  }
  const runs = fs
    .readdirSync(runsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => path.join(runsDir, d.name));
  if (runs.length !== 1) throw new BenchError(`expected one run folder in ${runsDir}`);
  log(`  trained in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${runs[0]}`);
  return runs[0]!;
}

function coldRun(run: string, count: number, out: string, backend: string): number {
  const t0 = performance.now();
  const r = spawnSync(
    process.execPath,
    [CLI, 'sample', run, '-n', String(count), '--out', out, '--backend', backend],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const ms = performance.now() - t0;
  if (r.status !== 0 || !fs.existsSync(out)) {
    throw new BenchError(`icgan sample failed (exit ${r.status ?? r.signal}):\n${r.stderr.trim()}`);
  }
  return ms;
}

/** sampleRun()'s work after loadGenerator: what a warm process (the runner, the extension) pays. */
async function warmSample(gen: LoadedGenerator, count: number, seed: number, out: string) {
  const { model } = gen;
  const columns = gridColumns(count);
  const cond = gridConditions(model, count, columns, gen.instances);
  const z = new Rng(seed).normals(count * model.zDim);
  const images = await generateImages(model, model.generatorParams, gen.stats, z, cond);
  const { resolution: r, channels: c } = model.image;
  const grid = tileGrid(images.pixels, count, r, r, c, columns);
  const png = await encodePng(grid.pixels, grid.height, grid.width, c);
  await writeFileAtomic(out, png);
}

function stats(times: number[]): string {
  const lo = Math.min(...times);
  const hi = Math.max(...times);
  return `${median(times).toFixed(1)} | ${lo.toFixed(1)}–${hi.toFixed(1)}`;
}

async function main(): Promise<void> {
  const reps = int('reps', 10, 1);
  const warmup = int('warmup', 1, 0);
  const count = int('count', 16, 1);
  const backend = flag('backend', 'auto');
  if (!fs.existsSync(CLI)) throw new BenchError(`${CLI} not found: run 'npm run build' first`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sample-bench-'));
  const keep = process.argv.includes('--keep');
  try {
    let run = flag('run', '');
    if (run === '') {
      const config = path.resolve(
        flag('config', path.join(ROOT, 'examples/shapes-cgan.icgan.json')),
      );
      run = trainTinyRun(config, int('train-steps', 2, 1), path.join(tmp, 'runs'), backend);
    }
    run = path.resolve(run);

    // Cold: whole processes. The first ones also fill the OS file cache; they are reported apart.
    const coldFirst: number[] = [];
    for (let i = 0; i < warmup; i++) {
      coldFirst.push(coldRun(run, count, path.join(tmp, `cold-w${i}.png`), backend));
    }
    const cold: number[] = [];
    for (let i = 0; i < reps; i++) {
      cold.push(coldRun(run, count, path.join(tmp, `cold-${i}.png`), backend));
      log(`  cold ${i + 1}/${reps}: ${cold[i]!.toFixed(0)} ms`);
    }

    // Warm: one process, one loaded generator, repeated grids.
    const info = await initBackend(backend as BackendName | 'auto');
    const gen = loadGenerator(run);
    const warm: number[] = [];
    let firstWarm = NaN;
    try {
      for (let i = 0; i < warmup + reps; i++) {
        const t0 = performance.now();
        await warmSample(gen, count, i, path.join(tmp, `warm-${i}.png`));
        const ms = performance.now() - t0;
        if (i === 0) firstWarm = ms;
        if (i >= warmup) warm.push(ms);
      }
    } finally {
      gen.dispose();
    }
    // The whole in-process sampleRun (checkpoint read and model build included), warm.
    const whole: number[] = [];
    for (let i = 0; i < warmup + reps; i++) {
      const t0 = performance.now();
      await sampleRun(run, {
        count,
        truncation: 0,
        seed: i,
        out: path.join(tmp, `whole-${i}.png`),
      });
      if (i >= warmup) whole.push(performance.now() - t0);
    }

    const meta = JSON.parse(fs.readFileSync(path.join(run, 'config.json'), 'utf8')) as {
      model: { type: string };
    };
    const side = gridColumns(count);
    console.log(
      `Sampling a ${side}×${Math.ceil(count / side)} grid (${count} images) from ${run}\n` +
        `model ${meta.model.type}, backend ${info.name} (${info.threads} thread(s), SIMD ${info.simd}); ` +
        `median of ${reps} after ${warmup} warm-up; load average ${loadAvg()}`,
    );
    console.log('');
    console.log('| what | ms (median) | min–max | target | met |');
    console.log('|---|---|---|---|---|');
    const mW = median(warm);
    const mC = median(cold);
    console.log(
      `| warm: generation + PNG write, in-process | ${stats(warm)} | ≤ ${WARM_TARGET_MS} | ${mW <= WARM_TARGET_MS ? 'yes' : 'NO'} |`,
    );
    console.log(
      `| cold: \`node dist/cli.js sample <run> -n ${count}\`, whole process | ${stats(cold)} | ≤ ${COLD_TARGET_MS} | ${mC <= COLD_TARGET_MS ? 'yes' : 'NO'} |`,
    );
    console.log(`| in-process sampleRun() incl. checkpoint load | ${stats(whole)} | | |`);
    console.log('');
    console.log(
      `first warm call (not counted): ${firstWarm.toFixed(1)} ms; ` +
        (coldFirst.length > 0
          ? `first cold process(es) (not counted): ${coldFirst.map((t) => t.toFixed(0)).join(', ')} ms`
          : 'no cold warm-up'),
    );
    if (keep) console.log(`\nkept: ${tmp}`);
  } finally {
    if (!keep) fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  log(err instanceof BenchError ? `error: ${err.message}` : String((err as Error).stack ?? err));
  process.exitCode = 2;
});
