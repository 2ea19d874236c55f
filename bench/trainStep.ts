/**
 * Training-step benchmark: the engine on every tfjs backend that loads here against PyTorch 1.13
 * (Debian's python3-torch, unpacked into .cache/peers/ by peers/torchPeer.ts), side by side in one
 * run, for three workloads:
 *
 *   dcgan  DCGAN-32, the reference model (shared/notes/tfjs-backends.md): G dense 100→4·4·128,
 *          convT 64, 32, 3; D conv 32, 64, 128, dense 1; batch 64, Adam(2e-4, β1 0.5).
 *   icgan  the IC-GAN of examples/shapes-icgan.icgan.json (32×32, batch 32): conditional batch
 *          norm driven by projected instance features, projection discriminator.
 *   ss     one step of the self-supervised SimCLR encoder that provides IC-GAN's instance
 *          features (src/core/features/contrastiveEncoder.ts, default settings).
 *
 * Every tfjs backend runs each workload in its own child process (a tfjs backend is
 * process-global); PyTorch runs all workloads in one Python child per OpenBLAS core type
 * (bench/trainStep.py mirrors the models layer for layer; the parameter counts are compared and a
 * mismatch fails the run). Steps are timed one by one: median of --reps after --warmup.
 *
 *   npx tsx bench/trainStep.ts [--reps N] [--warmup N] [--backends wasm,cpu]
 *                              [--workloads dcgan,icgan,ss] [--coretypes env,SkylakeX]
 *                              [--threads 2] [--no-torch] [--json out.json] [--software-gpu]
 *
 * webgpu is timed on a hardware adapter only; a software one (lavapipe, SwiftShader) is skipped
 * with its name unless --software-gpu (a check that the path runs, not a speed figure).
 *
 * PyTorch uses --threads threads (default 2: both cores) with OMP_WAIT_POLICY=PASSIVE; the
 * table shows how many threads tfjs-wasm reports (getThreadsCount()). GFLOP/s uses an analytic count of the multiply-adds of
 * the conv and dense layers (ganFlops/ssFlops below; trainStep.py counts the same and the two are
 * compared). Measure on an idle machine: with the other core busy, both sides slow down unevenly.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/core/backend/backendChain';
import type { ModelConfig } from '../src/core/config/types';
import { gatherBatch } from '../src/core/data/batch';
import { augmentBatch } from '../src/core/features/augment';
import {
  buildParams,
  encode,
  project,
  toEncoderInput,
  trainContrastiveEncoder,
} from '../src/core/features/contrastiveEncoder';
import {
  resolveFeatureSettings,
  type SelfSupervisedSettings,
} from '../src/core/features/featureSettings';
import { ntXentLoss } from '../src/core/features/ntXent';
import { ConvGan } from '../src/core/models/convGan';
import { BATCH_STATS } from '../src/core/models/layers';
import { countParameters, gradientsByName, type VariableMap } from '../src/core/models/paramStore';
import { Rng } from '../src/core/random/rng';
import { Adam } from '../src/core/train/adam';
import { coreLabel, peerChildEnv, usableCoretypes } from './peers/openblas';
import { describeInstall, ensureTorchPeer, PeerError, type TorchPeer } from './peers/torchPeer';
import { benchConfig, ganSession, shapesData } from './ganWorkloads';
import { flag, loadAvg, log, median } from './harness';
import { takeFloats } from '../src/core/backend/tensorRead';

const BACKENDS = ['tfjs-node-gpu', 'tfjs-node', 'webgpu', 'wasm', 'cpu'] as const;
type Backend = (typeof BACKENDS)[number];
const WORKLOADS = ['dcgan', 'icgan', 'ss'] as const;
type Workload = (typeof WORKLOADS)[number];

const TITLES: Record<Workload, string> = {
  dcgan: 'DCGAN-32',
  icgan: 'IC-GAN-32',
  ss: 'SS encoder',
};

/** What a tfjs child reports for one workload. */
interface TfjsRow {
  backend: Backend;
  workload: Workload;
  ok: boolean;
  reason?: string;
  timesMs?: number[];
  medianMs?: number;
  minMs?: number;
  flops?: number;
  /** [G, D], or [encoder, projection head]. */
  params?: [number, number];
  batch?: number;
  /** Threads the backend reports (wasm: getThreadsCount()). */
  threads?: number;
  /** ss only: the engine's own trainContrastiveEncoder over --reps steps, as it logs itself. */
  engineLoop?: { meanMs: number; params: [number, number] };
}

/** What trainStep.py prints with --json. */
interface TorchReport {
  torch: string;
  threads: number;
  corename: string;
  coretypeEnv: string;
  results: {
    workload: Workload;
    timesMs: number[];
    medianMs: number;
    minMs: number;
    flops: number;
    params: [number, number];
  }[];
}

interface TorchRun {
  coretype: string;
  report: TorchReport;
}

/** The marker before a child's JSON line, so stray output on stdout can't be mistaken for it. */
const ROW_MARK = '@@row ';

function list<T extends string>(name: string, allowed: readonly T[], fallback: string): T[] {
  const values = flag(name, fallback)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = values.filter((v) => !allowed.includes(v as T));
  if (bad.length > 0 || values.length === 0) {
    throw new PeerError(`--${name}: expected some of ${allowed.join(', ')}, got ${bad.join(', ')}`);
  }
  return values as T[];
}

// ---------------------------------------------------------------------------------------------
// FLOP counts (trainStep.py has the same two functions; the run checks that they agree).

interface GanShape {
  zDim: number;
  gWidth: number;
  dWidth: number;
  embedDim: number;
  featureDim: number;
  numClasses: number;
  minibatchStd: boolean;
  resolution: number;
  channels: number;
}

/**
 * Multiply–adds per image of each conv and dense layer of models/convGan.ts (a transposed conv's
 * counted per input position), then: D update = D forward and backward (≈ 2× forward) on real and
 * fake, plus G forward for the fakes; G update = G and D forward, D backward to its input only, G
 * backward. For DCGAN-32 at batch 64 this is the reference 7.15 GFLOP.
 */
export function ganFlops(m: GanShape, batch: number): number {
  const levels = Math.log2(m.resolution / 4);
  const gc = Array.from({ length: levels }, (_, i) => m.gWidth * 2 ** (levels - 1 - i));
  const dc = Array.from({ length: levels }, (_, i) => m.dWidth * 2 ** i);
  const cond = m.embedDim * ((m.featureDim > 0 ? 1 : 0) + (m.numClasses > 0 ? 1 : 0));
  let g = m.featureDim * m.embedDim + m.zDim * 16 * gc[0]! + 2 * cond * 16 * gc[0]!;
  for (let i = 1; i < levels; i++) {
    g += (4 * 2 ** (i - 1)) ** 2 * 16 * gc[i - 1]! * gc[i]! + 2 * cond * gc[i]!;
  }
  g += (m.resolution / 2) ** 2 * 16 * gc[levels - 1]! * m.channels;
  let d = 0;
  let cin = m.channels;
  dc.forEach((cout, i) => {
    d += (m.resolution / 2 ** (i + 1)) ** 2 * 16 * cin * cout;
    cin = cout;
  });
  const features = 16 * (cin + (m.minibatchStd ? 1 : 0));
  d += features;
  if (m.numClasses > 0) d += features;
  if (m.featureDim > 0) d += m.featureDim * features + features;
  return 2 * batch * (3 * 2 * d + g + g + d + d + 2 * g);
}

/**
 * The contrastive step: convs, head and the views × views similarity product; backward ≈ 2×
 * forward, except the first conv, whose input needs no gradient.
 */
export function ssFlops(s: SelfSupervisedSettings, channels: number, batch: number): number {
  const views = 2 * batch;
  let hw = s.inputSize;
  let cin = channels;
  const convs: number[] = [];
  for (let b = 0; b < s.blocks; b++) {
    const cout = b === s.blocks - 1 ? s.dim : s.width * 2 ** b;
    hw /= 2;
    convs.push(hw * hw * 16 * cin * cout);
    cin = cout;
  }
  const head = s.dim * s.dim + s.dim * s.projectionDim;
  const similarity = views * s.projectionDim;
  const rest = convs.slice(1).reduce((a, b) => a + b, 0);
  return 2 * views * (2 * convs[0]! + 3 * (rest + head + similarity));
}

// ---------------------------------------------------------------------------------------------
// Child: one workload on one tfjs backend.

async function timeSteps(
  step: () => Promise<unknown>,
  reps: number,
  warmup: number,
): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await step();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await step();
    times.push(performance.now() - t0);
  }
  return times;
}

async function ganChild(
  workload: 'dcgan' | 'icgan',
  reps: number,
  warmup: number,
): Promise<Partial<TfjsRow>> {
  const { cfg, session } = ganSession(workload);
  const model = session.model;
  if (!(model instanceof ConvGan)) throw new Error(`${workload}: not a ConvGan`);
  const times = await timeSteps(() => session.trainStep(), reps, warmup);
  const m: ModelConfig = cfg.model;
  const flops = ganFlops(
    {
      zDim: m.zDim,
      gWidth: m.gWidth,
      dWidth: m.dWidth,
      embedDim: m.embedDim,
      featureDim: model.featureDim,
      numClasses: model.numClasses,
      minibatchStd: model.minibatchStd,
      resolution: model.image.resolution,
      channels: model.image.channels,
    },
    cfg.training.batchSize,
  );
  const params: [number, number] = [
    countParameters(model.generatorParams),
    countParameters(model.discriminatorParams),
  ];
  session.dispose();
  return { timesMs: times, flops, params, batch: cfg.training.batchSize };
}

// The contrastive step of contrastiveEncoder.ts, from its own encode/project/buildParams; the
// engine's whole loop runs before it as a check of the parameter counts and of the time per step
// (ssChild).

async function ssChild(reps: number, warmup: number): Promise<Partial<TfjsRow>> {
  const cfg = benchConfig('icgan');
  const data = shapesData(cfg);
  const s = resolveFeatureSettings(cfg.instances.features as never);
  if (s.kind !== 'selfsupervised') throw new Error('the IC-GAN example changed kind');
  const batch = Math.min(s.batchSize, data.count);
  const { encoder, head } = buildParams(s, data.channels);
  const all: VariableMap = new Map([...encoder, ...head]);
  const vars = [...all.values()];
  const opt = new Adam(all, { learningRate: s.learningRate, beta1: 0.9, beta2: 0.999 });
  const rng = new Rng(s.seed + 1);
  const step = async (): Promise<void> => {
    const x = gatherBatch(data, rng.ints(batch, data.count));
    const views = tf.tidy(() => {
      const small = toEncoderInput(x, s.inputSize);
      return tf.concat([augmentBatch(small, rng, s.augment), augmentBatch(small, rng, s.augment)]);
    });
    const { value, grads } = tf.variableGrads(
      () => ntXentLoss(project(all, encode(all, s.blocks, views, BATCH_STATS)), s.temperature),
      vars,
    );
    opt.apply(gradientsByName(all, grads));
    tf.dispose([x, views, ...Object.values(grads)]);
    await takeFloats(value);
  };
  // First the engine's own loop for --reps steps: its log gives the parameter counts and the
  // mean time per step (first step included, standing statistics excluded). Run first, it also
  // warms the process: this small step gets ~15 % faster over its first dozen steps (wasm).
  const lines: string[] = [];
  const extractor = await trainContrastiveEncoder(data, { ...s, steps: reps }, (l) =>
    lines.push(l),
  );
  extractor.dispose();

  const times = await timeSteps(step, reps, warmup);
  const params: [number, number] = [countParameters(encoder), countParameters(head)];
  opt.dispose();
  tf.dispose(vars);
  const counts = /contrastive encoder, (\d+) parameters \(\+(\d+) in the projection head\)/.exec(
    lines.join('\n'),
  );
  const perStep = /\((\d+(?:\.\d+)?) ms\/step\)/.exec(lines[lines.length - 1] ?? '');
  return {
    timesMs: times,
    flops: ssFlops(s, data.channels, batch),
    params,
    batch,
    ...(counts && perStep
      ? {
          engineLoop: {
            meanMs: Number(perStep[1]),
            params: [Number(counts[1]), Number(counts[2])] as [number, number],
          },
        }
      : {}),
  };
}

async function child(backend: Backend, workload: Workload, reps: number, warmup: number) {
  const row: TfjsRow = { backend, workload, ok: false };
  try {
    const report = await initBackend(backend);
    row.threads = report.threads;
    if (report.adapter?.software && !process.argv.includes('--software-gpu')) {
      row.reason = `only a software adapter (${report.adapter.description}); --software-gpu times it`;
      process.stdout.write(`\n${ROW_MARK}${JSON.stringify(row)}\n`);
      return;
    }
  } catch (err) {
    row.reason = (err as Error).message.replace(/^backend '[^']+' could not be loaded: /, '');
    process.stdout.write(`\n${ROW_MARK}${JSON.stringify(row)}\n`);
    return;
  }
  const result =
    workload === 'ss' ? await ssChild(reps, warmup) : await ganChild(workload, reps, warmup);
  const times = result.timesMs ?? [];
  Object.assign(row, result, { ok: true, medianMs: median(times), minMs: Math.min(...times) });
  process.stdout.write(`\n${ROW_MARK}${JSON.stringify(row)}\n`);
}

// ---------------------------------------------------------------------------------------------
// Parent.

function runTfjs(backend: Backend, workload: Workload, reps: number, warmup: number): TfjsRow {
  const out = execFileSync(
    process.execPath,
    [
      ...process.execArgv,
      __filename,
      ...['--child', backend, '--workload', workload],
      ...['--reps', String(reps), '--warmup', String(warmup)],
      ...process.argv.filter((a) => a === '--software-gpu'),
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 },
  );
  const line = out
    .split('\n')
    .reverse()
    .find((l) => l.startsWith(ROW_MARK));
  if (!line) throw new Error(`${backend}/${workload}: the child printed no result`);
  return JSON.parse(line.slice(ROW_MARK.length)) as TfjsRow;
}

function runTorch(
  peer: TorchPeer,
  coretype: string,
  workloads: Workload[],
  args: { reps: number; warmup: number; threads: number },
): TorchReport {
  const script = path.join(__dirname, 'trainStep.py');
  const r = spawnSync(
    peer.python,
    [
      '-s',
      script,
      '--json',
      ...['--workloads', workloads.join(','), '--threads', String(args.threads)],
      ...['--reps', String(args.reps), '--warmup', String(args.warmup)],
    ],
    {
      env: peerChildEnv(peer.env, coretype),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  if (r.status !== 0) throw new Error(`PyTorch (${coretype}) exited with ${r.status ?? r.signal}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as TorchReport;
}

function engineName(backend: Backend): string {
  return backend.startsWith('tfjs-') ? backend : `tfjs ${backend}`;
}

function fmtMs(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms.toFixed(1);
}

function fmtInt(n: number): string {
  return n.toLocaleString('en');
}

async function main(): Promise<number> {
  const reps = Number(flag('reps', '10'));
  const warmup = Number(flag('warmup', '2'));
  const threads = Number(flag('threads', '2'));
  if (![reps, threads].every((n) => Number.isInteger(n) && n >= 1) || !(warmup >= 0)) {
    throw new PeerError('--reps and --threads take integers ≥ 1, --warmup one ≥ 0');
  }
  const backends = list('backends', BACKENDS, BACKENDS.join(','));
  const workloads = list('workloads', WORKLOADS, WORKLOADS.join(','));
  const useTorch = !process.argv.includes('--no-torch');
  const coretypes = usableCoretypes(
    flag('coretypes', 'env,SkylakeX')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    log,
  );
  const loadStart = loadAvg();
  if (os.loadavg()[0]! > 0.5) {
    log(`warning: load average ${loadStart}: the CPU is busy, timings will be noisy`);
  }
  const started = performance.now();

  const tfjs: TfjsRow[] = [];
  const unavailable = new Map<Backend, string>();
  for (const workload of workloads) {
    for (const backend of backends) {
      const skip = unavailable.get(backend);
      if (skip !== undefined) {
        tfjs.push({ backend, workload, ok: false, reason: skip });
        continue;
      }
      log(`measuring ${TITLES[workload]} on ${engineName(backend)}… (load ${loadAvg()})`);
      const row = runTfjs(backend, workload, reps, warmup);
      if (!row.ok) unavailable.set(backend, row.reason ?? '?');
      tfjs.push(row);
    }
  }

  const peer = useTorch ? ensureTorchPeer(log) : undefined;
  const torch: TorchRun[] = [];
  for (const coretype of peer ? coretypes : []) {
    log(`measuring PyTorch (OpenBLAS ${coretype})… (load ${loadAvg()})`);
    torch.push({
      coretype,
      report: runTorch(peer!, coretype, workloads, { reps, warmup, threads }),
    });
  }

  console.log(
    `Training steps, median of ${reps} after ${warmup} warm-up steps; load average at start ` +
      `${loadStart}, at end ${loadAvg()}; ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}; ` +
      `total ${((performance.now() - started) / 60000).toFixed(1)} min`,
  );
  if (peer) {
    console.log(
      `PyTorch ${peer.torchVersion} (Debian python3-torch, numpy ${peer.numpyVersion}), ` +
        `${torch[0]?.report.threads ?? threads} threads, OMP_WAIT_POLICY=PASSIVE`,
    );
    console.log(`PyTorch peer: ${describeInstall(peer.install)}`);
  }
  let ok = true;
  console.log('');
  console.log('| workload | engine | ms/step (median) | min | GFLOP/s | × PyTorch (best) |');
  console.log('|---|---|---|---|---|---|');
  for (const workload of workloads) {
    const rows = tfjs.filter((r) => r.workload === workload && r.ok);
    const torchRows = torch.map((t) => ({
      label: `PyTorch (${coreLabel(t.coretype, t.report.corename)})`,
      r: t.report.results.find((x) => x.workload === workload)!,
    }));
    const best = Math.min(...torchRows.map((t) => t.r.medianMs));
    const flops = rows.find((r) => r.ok)?.flops ?? torchRows[0]?.r.flops ?? NaN;
    const batch = rows.find((r) => r.ok)?.batch;
    let title = `${TITLES[workload]} (${(flops / 1e9).toFixed(2)} GFLOP/step`;
    title += batch ? `, batch ${batch})` : ')';
    const line = (label: string, ms: number, min: number): void => {
      const ratio = Number.isFinite(best) ? (ms / best).toFixed(2) : '–';
      console.log(
        `| ${title} | ${label} | ${fmtMs(ms)} | ${fmtMs(min)} | ` +
          `${(flops / (ms / 1000) / 1e9).toFixed(2)} | ${ratio} |`,
      );
      title = '';
    };
    for (const r of rows) {
      const label = `${engineName(r.backend)}${r.backend === 'wasm' ? `, ${r.threads} thread(s)` : ''}`;
      line(label, r.medianMs!, r.minMs!);
    }
    for (const t of torchRows) line(t.label, t.r.medianMs, t.r.minMs);
    for (const t of torchRows) {
      if (Math.abs(t.r.flops - flops) > 1e-6 * flops) {
        log(`warning: ${workload}: trainStep.py counts ${t.r.flops} FLOP, this file ${flops}`);
      }
    }
  }

  for (const [backend, reason] of unavailable) {
    console.log(`\n${engineName(backend)}: not available here: ${reason}`);
  }
  console.log('');
  console.log('Parameter counts ([G, D] or [encoder, projection head]):');
  console.log('');
  console.log('| workload | tfjs | PyTorch | engine loop (ss) | equal |');
  console.log('|---|---|---|---|---|');
  for (const workload of workloads) {
    const t = tfjs.find((r) => r.workload === workload && r.ok)?.params;
    const p = torch[0]?.report.results.find((x) => x.workload === workload)?.params;
    const e = tfjs.find((r) => r.workload === workload && r.ok)?.engineLoop?.params;
    const fmt = (v?: [number, number]): string =>
      v ? `${fmtInt(v[0] + v[1])} (${fmtInt(v[0])} + ${fmtInt(v[1])})` : '–';
    const same = (a?: [number, number], b?: [number, number]): boolean =>
      !a || !b || (a[0] === b[0] && a[1] === b[1]);
    const equal = same(t, p) && same(t, e) && (workload !== 'ss' || !t || e !== undefined);
    if (!equal) ok = false;
    console.log(
      `| ${TITLES[workload]} | ${fmt(t)} | ${fmt(p)} | ${workload === 'ss' ? fmt(e) : ''} | ` +
        `${equal ? 'yes' : 'NO'} |`,
    );
  }
  const loops = tfjs.filter((r) => r.engineLoop);
  if (loops.length > 0) {
    console.log('');
    console.log(
      'SS encoder check, the engine’s own trainContrastiveEncoder over the same number of steps, ' +
        'run before (mean ms/step, first step included): ' +
        loops
          .map(
            (r) =>
              `${r.backend} ${fmtMs(r.engineLoop!.meanMs)} (this benchmark's median ${fmtMs(r.medianMs!)})`,
          )
          .join('; '),
    );
  }
  if (process.argv.includes('--json')) {
    const file = flag('json', 'train-step-bench.json');
    fs.writeFileSync(file, JSON.stringify({ reps, warmup, loadStart, tfjs, torch }, null, 2));
    console.log(`\nraw figures: ${file}`);
  }
  return ok ? 0 : 1;
}

if (process.argv.includes('--child')) {
  void child(
    flag('child', 'wasm') as Backend,
    flag('workload', 'dcgan') as Workload,
    Number(flag('reps', '10')),
    Number(flag('warmup', '2')),
  );
} else {
  main().then(
    (code) => {
      if (code !== 0) log('FAILED: the tfjs and PyTorch models differ in size (table above)');
      process.exitCode = code;
    },
    (err: unknown) => {
      log(err instanceof PeerError ? `error: ${err.message}` : String((err as Error).stack ?? err));
      process.exitCode = 2;
    },
  );
}
