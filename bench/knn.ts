/**
 * Exact cosine kNN benchmark: the engine's `cosineKnn` (ONNX Runtime when installed, else tfjs-wasm; --engine) against faiss
 * `IndexFlatIP` (the method of the official IC-GAN code), side by side in one run on the same
 * seeded, L2-normalised random features, with a check that both find the same neighbours.
 *
 *   npx tsx bench/knn.ts [--reps N] [--sizes 10000,60000] [--dims 128,512] [--ks 5,50]
 *                        [--coretypes env,SkylakeX] [--seed N] [--warmup-rows N]
 *                        [--no-faiss] [--json out.json]
 *
 * faiss is Debian's python3-faiss 1.7.3, unpacked on first use into .cache/peers/ (see
 * peers/faissPeer.ts) and run in a child Python per case and OpenBLAS core type, with its default
 * threads (2 here) and OMP_WAIT_POLICY=PASSIVE (otherwise OpenMP threads spin against OpenBLAS's
 * on a 2-core machine). Debian's OpenBLAS 0.3.21 predates this CPU, so the kernel set it picks
 * matters (shared/notes/tfjs-backends.md); each core type in --coretypes is measured and the
 * table compares tfjs with the fastest:
 *   env    (default) OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE as inherited from this shell, i.e. what
 *          faiss gets when simply run here (this workplace presets Haswell on some CPUs);
 *   auto   both unset: OpenBLAS's own CPU detection;
 *   NAME   OPENBLAS_CORETYPE=NAME (e.g. Haswell, SkylakeX), OPENBLAS_L2_SIZE unset.
 * The child reports the core OpenBLAS actually chose, which is what the table shows. AVX-512
 * core types are skipped on CPUs without AVX-512 (OpenBLAS would die of an illegal instruction).
 * With the default matrix and --reps 3 a run takes roughly 15 min on an idle 2-core machine;
 * for the ≥ 10-rep version use --reps 10 (about 3× that) or measure the big sizes alone.
 *
 * Timing: median of --reps full runs (default 3) after a warm-up on the first --warmup-rows rows
 * (compiles and pages in the same code paths without paying for a full-size run on the big
 * cases). Both sides time the whole job: tfjs the whole `exactCosineKnn` call; faiss the index
 * build, the k + 1 search and dropping the sample itself. tfjs-wasm runs single-threaded (the
 * Node build has threads off), faiss on both cores.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/core/backend/backendChain';
import { l2Normalise, type KnnResult } from '../src/core/neighbours/cosineKnn';
import { cosineKnn } from '../src/core/neighbours/nativeKnn';
import { Rng } from '../src/core/random/rng';
import { ensureFaissPeer, PeerError, type FaissPeer } from './peers/faissPeer';
import { coreLabel as openblasCoreLabel, peerChildEnv, usableCoretypes } from './peers/openblas';
import { flag, loadAvg, log, median } from './harness';

interface Args {
  reps: number;
  sizes: number[];
  dims: number[];
  ks: number[];
  coretypes: string[];
  seed: number;
  warmupRows: number;
  faiss: boolean;
  json: string | undefined;
  /** Which search engine to time: 'auto' is what training uses. */
  engine: 'auto' | 'native' | 'tfjs';
}

/** What the Python side prints (knn_faiss.py). */
interface FaissReport {
  timesMs: number[];
  corename: string;
  blasThreads: number;
  ompThreads: number;
  faiss: string;
  numpy: string;
  coretypeEnv: string;
  selfNotFirst: number;
  selfMissing: number;
}

interface Agreement {
  /** Share of the n·k (row, rank) slots holding the same index on both sides. */
  identical: number;
  /** Share of each row's neighbour set found by both, whatever the order. */
  sameSet: number;
  /** Largest |similarity difference| at the same rank: near-ties swap indices, not values. */
  maxSimDiff: number;
  ok: boolean;
}

interface FaissRun {
  coretype: string;
  report: FaissReport;
  medianMs: number;
  agreement: Agreement;
}

interface CaseResult {
  n: number;
  d: number;
  k: number;
  tfjsTimesMs: number[];
  tfjsMedianMs: number;
  faiss: FaissRun[];
}

/** Same-index share a case needs to pass; the rest must be float near-ties (see TIE_TOLERANCE). */
const MIN_IDENTICAL = 0.999;
/**
 * Both sides sum float32 products in different orders (XNNPACK vs OpenBLAS), so the same
 * similarity can differ by a few ulps of values ≤ 1; anything larger is a wrong neighbour.
 */
const TIE_TOLERANCE = 1e-5;

function intList(name: string, fallback: string): number[] {
  const values = flag(name, fallback)
    .split(',')
    .map((s) => Number(s.trim()));
  if (values.length === 0 || values.some((v) => !Number.isInteger(v) || v < 1)) {
    throw new PeerError(`--${name} takes positive integers separated by commas`);
  }
  return values;
}

function parseArgs(): Args {
  const [reps = 3] = intList('reps', '3');
  const [seed = 1] = intList('seed', '1');
  const [warmupRows = 2000] = intList('warmup-rows', '2000');
  return {
    reps,
    sizes: intList('sizes', '10000,60000'),
    dims: intList('dims', '128,512'),
    ks: intList('ks', '5,50'),
    coretypes: usableCoretypes(
      flag('coretypes', 'env,SkylakeX')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
      log,
    ),
    seed,
    warmupRows: Math.max(warmupRows, 2),
    faiss: !process.argv.includes('--no-faiss'),
    engine: flag('engine', 'auto') as Args['engine'],
    json: process.argv.includes('--json') ? flag('json', 'knn-bench.json') : undefined,
  };
}

/**
 * n×d standard normals, L2-normalised: directions uniform on the sphere. Seeded per dimension
 * only, so the 10,000-row set is the first rows of the 60,000-row one.
 */
function makeFeatures(n: number, d: number, seed: number): Float32Array {
  const rng = new Rng(seed * 7919 + d);
  return l2Normalise(rng.normals(n * d), n, d);
}

/** The engine's search as the trainer runs it: ONNX Runtime when installed (or --engine). */
async function runTfjs(features: Float32Array, n: number, d: number, k: number, args: Args) {
  // Warm-up: the same self-search path on a prefix, so wasm code, the JIT'd scan loops, the
  // allocator and the ONNX session are warm before the timed full-size runs.
  const w = Math.min(n, args.warmupRows);
  const before = tf.memory().numTensors;
  await cosineKnn(features.subarray(0, w * d), w, d, Math.min(k, w - 1), { engine: args.engine });
  const leaked = tf.memory().numTensors - before;
  if (leaked !== 0) log(`  warning: exactCosineKnn left ${leaked} tensors behind`);

  const times: number[] = [];
  let result: KnnResult | undefined;
  let engine = '';
  for (let r = 0; r < args.reps; r++) {
    const t0 = performance.now();
    const found = await cosineKnn(features, n, d, k, { engine: args.engine });
    times.push(performance.now() - t0);
    result = found;
    engine = found.engine === 'tfjs' ? 'tfjs-wasm' : found.engine;
    log(`  ${engine} rep ${r + 1}/${args.reps}: ${times[r]!.toFixed(0)} ms`);
  }
  ENGINE_LABEL = engine;
  return { times, result: result! };
}

/** The engine that ran, for the tables. */
let ENGINE_LABEL = 'tfjs-wasm';

function runFaiss(
  peer: FaissPeer,
  coretype: string,
  dataFile: string,
  tmp: string,
  n: number,
  d: number,
  k: number,
  args: Args,
): { report: FaissReport; result: { indices: Int32Array; similarities: Float32Array } } {
  const outFile = path.join(tmp, `faiss-${n}-${d}-${k}.bin`);
  const script = path.join(__dirname, 'knn_faiss.py');
  const child = spawnSync(
    peer.python,
    [
      '-s',
      script,
      ...['--data', dataFile, '--n', String(n), '--d', String(d), '--k', String(k)],
      ...['--reps', String(args.reps), '--warmup-rows', String(args.warmupRows), '--out', outFile],
    ],
    {
      env: peerChildEnv(peer.env, coretype),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  if (child.status !== 0) {
    throw new Error(`faiss (${coretype}) exited with ${child.status ?? child.signal}`);
  }
  const report = JSON.parse(child.stdout.trim().split('\n').pop() ?? '') as FaissReport;
  const bytes = fs.readFileSync(outFile);
  fs.rmSync(outFile);
  // Copy out of the Buffer: its byteOffset need not be 4-aligned.
  const indices = new Int32Array(
    bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + n * k * 4),
  );
  const similarities = new Float32Array(
    bytes.buffer.slice(bytes.byteOffset + n * k * 4, bytes.byteOffset + n * k * 8),
  );
  return { report, result: { indices, similarities } };
}

function agreement(
  a: KnnResult,
  b: { indices: Int32Array; similarities: Float32Array },
  n: number,
  k: number,
): Agreement {
  let identical = 0;
  let shared = 0;
  let maxSimDiff = 0;
  // Set overlap in O(n·k): stamp b's row into a per-index marker, then look up a's row.
  const stamp = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    const base = i * k;
    for (let j = 0; j < k; j++) {
      const idx = b.indices[base + j]!;
      if (idx >= 0 && idx < n) stamp[idx] = i;
    }
    for (let j = 0; j < k; j++) {
      const idx = a.indices[base + j]!;
      if (idx === b.indices[base + j]) identical++;
      if (stamp[idx] === i) shared++;
      const diff = Math.abs(a.similarities[base + j]! - b.similarities[base + j]!);
      if (!(diff <= maxSimDiff)) maxSimDiff = diff; // NaN sticks and fails the check below
    }
  }
  const total = n * k;
  return {
    identical: identical / total,
    sameSet: shared / total,
    maxSimDiff,
    ok: identical / total >= MIN_IDENTICAL && maxSimDiff <= TIE_TOLERANCE,
  };
}

function pct(x: number): string {
  return `${(100 * x).toFixed(x === 1 ? 0 : 3)} %`;
}

function printTables(results: CaseResult[], args: Args): void {
  console.log('');
  if (!args.faiss) {
    console.log(`| N | d | k | ${ENGINE_LABEL} ms |`);
    console.log('|---|---|---|---|');
    for (const r of results) {
      console.log(`| ${r.n} | ${r.d} | ${r.k} | ${r.tfjsMedianMs.toFixed(0)} |`);
    }
    return;
  }
  console.log(
    `| N | d | k | ${ENGINE_LABEL} ms | faiss ms (best) | OpenBLAS core | ${ENGINE_LABEL} / faiss |`,
  );
  console.log('|---|---|---|---|---|---|---|');
  for (const r of results) {
    const best = r.faiss.reduce((x, y) => (y.medianMs < x.medianMs ? y : x));
    console.log(
      `| ${r.n.toLocaleString('en')} | ${r.d} | ${r.k} | ${r.tfjsMedianMs.toFixed(0)} | ` +
        `${best.medianMs.toFixed(0)} | ${coreLabel(best)} | ${(r.tfjsMedianMs / best.medianMs).toFixed(2)} |`,
    );
  }

  console.log('');
  const heads = args.coretypes.map((c) => `faiss ${c} ms`);
  console.log(`| N | d | k | ${ENGINE_LABEL} ms (min–max) | ${heads.join(' | ')} |`);
  console.log(`|---|---|---|---|${heads.map(() => '---|').join('')}`);
  for (const r of results) {
    const cells = r.faiss.map((f) => `${f.medianMs.toFixed(0)} (${f.report.corename})`);
    const [lo, hi] = [Math.min(...r.tfjsTimesMs), Math.max(...r.tfjsTimesMs)];
    console.log(
      `| ${r.n.toLocaleString('en')} | ${r.d} | ${r.k} | ${r.tfjsMedianMs.toFixed(0)} ` +
        `(${lo.toFixed(0)}–${hi.toFixed(0)}) | ${cells.join(' | ')} |`,
    );
  }

  console.log('');
  console.log(
    `Agreement of ${ENGINE_LABEL} with faiss (same index at the same rank; same neighbour set;`,
  );
  console.log(`largest similarity difference at the same rank; pass: ≥ ${pct(MIN_IDENTICAL)} and`);
  console.log(`≤ ${TIE_TOLERANCE}):`);
  console.log('');
  console.log('| N | d | k | core | same index | same set | max |Δsim| | self not first | ok |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    for (const f of r.faiss) {
      const a = f.agreement;
      console.log(
        `| ${r.n.toLocaleString('en')} | ${r.d} | ${r.k} | ${coreLabel(f)} | ${pct(a.identical)} | ` +
          `${pct(a.sameSet)} | ${a.maxSimDiff.toExponential(1)} | ` +
          `${f.report.selfNotFirst + f.report.selfMissing} | ${a.ok ? 'yes' : 'NO'} |`,
      );
    }
  }
}

function coreLabel(f: FaissRun): string {
  return openblasCoreLabel(f.coretype, f.report.corename);
}

async function main(): Promise<number> {
  const args = parseArgs();
  const started = performance.now();
  const backend = await initBackend('wasm');
  const peer = args.faiss ? ensureFaissPeer(log) : undefined;
  const loadStart = loadAvg();
  if (os.loadavg()[0]! > 0.5) {
    log(`warning: load average ${loadStart}: the CPU is busy, timings will be noisy`);
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'knn-bench-'));
  const results: CaseResult[] = [];
  try {
    for (const n of args.sizes) {
      for (const d of args.dims) {
        const features = makeFeatures(n, d, args.seed);
        const dataFile = path.join(tmp, `features-${n}x${d}.f32`);
        // Raw little-endian float32, row-major: what np.fromfile reads without a header.
        fs.writeFileSync(dataFile, new Uint8Array(features.buffer, 0, features.byteLength));
        for (const k of args.ks) {
          if (k >= n) throw new PeerError(`k = ${k} needs more than ${n} samples`);
          log(`case N=${n} d=${d} k=${k} (load ${loadAvg()})`);
          const tfjs = await runTfjs(features, n, d, k, args);
          const faiss: FaissRun[] = [];
          for (const coretype of peer ? args.coretypes : []) {
            const { report, result } = runFaiss(peer!, coretype, dataFile, tmp, n, d, k, args);
            const run: FaissRun = {
              coretype,
              report,
              medianMs: median(report.timesMs),
              agreement: agreement(tfjs.result, result, n, k),
            };
            log(
              `  faiss ${coreLabel(run)} (${report.ompThreads} OpenMP / ${report.blasThreads} ` +
                `BLAS threads): ${report.timesMs.map((t) => t.toFixed(0)).join(', ')} ms; ` +
                `same index ${pct(run.agreement.identical)}`,
            );
            faiss.push(run);
          }
          results.push({
            n,
            d,
            k,
            tfjsTimesMs: tfjs.times,
            tfjsMedianMs: median(tfjs.times),
            faiss,
          });
        }
        fs.rmSync(dataFile);
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }

  console.log('Exact cosine kNN, self-search with the sample excluded, random unit vectors');
  console.log(
    `tfjs-wasm: ${backend.threads} thread(s), SIMD ${backend.simd}; ` +
      (peer
        ? `faiss ${peer.faissVersion} (Debian, numpy ${peer.numpyVersion}), OMP_WAIT_POLICY=PASSIVE`
        : 'faiss not run'),
  );
  console.log(
    `median of ${args.reps} after a warm-up on ${args.warmupRows} rows; ` +
      `load average at start ${loadStart}, at end ${loadAvg()}; ` +
      `${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}; ` +
      `total ${((performance.now() - started) / 60000).toFixed(1)} min`,
  );
  printTables(results, args);
  if (args.json) {
    fs.writeFileSync(args.json, JSON.stringify({ args, loadStart, results }, null, 2));
    console.log(`\nraw figures: ${args.json}`);
  }
  return results.every((r) => r.faiss.every((f) => f.agreement.ok)) ? 0 : 1;
}

main().then(
  (code) => {
    if (code !== 0) log('FAILED: tfjs-wasm and faiss disagree on some neighbours (table above)');
    process.exitCode = code;
  },
  (err: unknown) => {
    log(err instanceof PeerError ? `error: ${err.message}` : String((err as Error).stack ?? err));
    process.exitCode = 2;
  },
);
