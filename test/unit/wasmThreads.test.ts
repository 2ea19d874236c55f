import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, type BackendReport } from '../../src/core/backend/backendChain';
import { resolveConfig } from '../../src/core/config/loadConfig';
import { createShapesDataset } from '../../src/core/data/shapesDataset';
import { TrainingSession } from '../../src/core/train/trainingSession';
import {
  MAX_WASM_THREADS,
  WASM_THREADS_ENV,
  wantedWasmThreads,
} from '../../src/core/backend/wasmThreads';
import {
  WASM_PTHREAD_WORKER_FILE,
  WASM_THREADED_GLUE_FILES,
} from '../../src/core/backend/wasmPaths';
import { makeTempDir } from './support/tempDir';
import { fixedTensor as fixed, liveTensors } from '../support/fixedTensor';

// The threaded-SIMD WASM build in Node (src/core/backend/wasmThreads.ts). A tfjs backend is
// process-global and its build is fixed by the first init, so the comparisons run in child
// processes: this file, run directly (`tsx wasmThreads.test.ts child <mode>`), prints one JSON
// report of the init, a few ops and a few training steps.

const ROOT = path.join(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const cpuCount = os.cpus().length;
// The real module objects (what the shims patch), not the namespace copies `import *` makes.
const nodeRequire = createRequire(__filename);
const nodeOs = nodeRequire('node:os') as typeof os;

// ---- child side -------------------------------------------------------------------------------

type ChildMode = 'default' | 'broken-workers';

interface ChildReport {
  backend: BackendReport;
  /** URL.createObjectURL / os.cpus are the originals again after init. */
  shimsRestored: boolean;
  /** Base64 float32 results by name. */
  results: Record<string, string>;
  /** Tensors and backend data ids left behind, by what left them. */
  leaks: Record<string, number>;
}

/** Ops whose results threads must not change; every tensor they make is disposed. */
function opResults(): Record<string, Float32Array> {
  return tf.tidy(() => {
    const x = fixed([8, 16, 16, 16], 1) as tf.Tensor4D;
    const w = fixed([4, 4, 16, 32], 2) as tf.Tensor4D;
    const dy = fixed([8, 8, 8, 32], 3) as tf.Tensor4D;
    const a = fixed([64, 100], 4) as tf.Tensor2D;
    const b = fixed([100, 512], 5) as tf.Tensor2D;
    const bT = fixed([512, 100], 6) as tf.Tensor2D;
    const aT = fixed([100, 64], 7) as tf.Tensor2D;
    const batched = fixed([4, 32, 48], 8) as tf.Tensor3D;
    const batchedB = fixed([4, 48, 24], 9) as tf.Tensor3D;
    const [dx, dw] = tf.grads((xi: tf.Tensor, wi: tf.Tensor) =>
      tf.sum(tf.square(tf.conv2d(xi as tf.Tensor4D, wi as tf.Tensor4D, 2, 'same'))),
    )([x, w]);
    const out: Record<string, tf.Tensor> = {
      conv2d: tf.conv2d(x, w, 2, 'same'),
      conv2dTranspose: tf.conv2dTranspose(dy, w, [8, 16, 16, 16], 2, 'same'),
      conv2dGradX: dx as tf.Tensor,
      conv2dGradW: dw as tf.Tensor,
      matMul: tf.matMul(a, b),
      matMulTransposeA: tf.matMul(aT, b, true, false),
      matMulTransposeB: tf.matMul(a, bT, false, true),
      matMulBatched: tf.matMul(batched, batchedB),
      // Small enough for our own kernel (wasmMatMulKernel.ts), in each of its loop forms.
      matMulSmall: tf.matMul(fixed([17, 30], 10), fixed([30, 33], 11)),
      matMulSmallColumn: tf.matMul(fixed([100, 64], 12), fixed([100, 1], 13), true, false),
      matMulSmallDot: tf.matMul(fixed([9, 100], 14), fixed([21, 100], 15), false, true),
      matMulSmallBothT: tf.matMul(fixed([50, 7], 16), fixed([5, 50], 17), true, true),
    };
    return Object.fromEntries(
      Object.entries(out).map(([k, t]) => [k, t.dataSync() as Float32Array]),
    );
  });
}

/**
 * Three DCGAN steps and three conditional-GAN steps: losses, then every parameter. Records in
 * `leaks` what steps 2 and 3 left behind (step 1 creates the optimiser state).
 */
async function trainingResults(
  leaks: Record<string, number>,
): Promise<Record<string, Float32Array>> {
  const models = {
    dcgan: { type: 'dcgan', zDim: 32, gWidth: 16, dWidth: 16 },
    cgan: { type: 'cgan', zDim: 16, gWidth: 8, dWidth: 8, embedDim: 8 },
  };
  const out: Record<string, Float32Array> = {};
  for (const [name, model] of Object.entries(models)) {
    const cfg = resolveConfig(
      {
        seed: 3,
        data: { source: 'shapes', count: 256, resolution: 16 },
        model,
        training: { batchSize: 16 },
      },
      path.join(ROOT, 'threads.icgan.json'),
    );
    const session = new TrainingSession(cfg, createShapesDataset(cfg.data as never));
    const losses: number[] = [];
    let afterFirst = 0;
    for (let i = 0; i < 3; i++) {
      const s = await session.trainStep();
      losses.push(s.dLoss, s.gLoss, s.dReal, s.dFake);
      if (i === 0) afterFirst = liveTensors();
    }
    leaks[`${name} steps`] = liveTensors() - afterFirst;
    out[`${name}Losses`] = Float32Array.from(losses);
    const params = [...session.model.generatorParams.values()].concat([
      ...session.model.discriminatorParams.values(),
    ]);
    const values = params.map((p) => p.dataSync() as Float32Array);
    const all = new Float32Array(values.reduce((n, v) => n + v.length, 0));
    let at = 0;
    for (const v of values) {
      all.set(v, at);
      at += v.length;
    }
    out[`${name}Params`] = all;
  }
  return out;
}

async function child(mode: ChildMode): Promise<void> {
  const createObjectURL = URL.createObjectURL;
  const cpus = nodeOs.cpus;
  if (mode === 'broken-workers') {
    // The pthread workers then find no runtime paths: each reports and ends, init must fall back.
    const wt = nodeRequire('node:worker_threads') as { setEnvironmentData: () => void };
    wt.setEnvironmentData = () => undefined;
  }
  const backend = await initBackend('wasm');
  const shimsRestored = URL.createObjectURL === createObjectURL && nodeOs.cpus === cpus;
  const leaks: Record<string, number> = {};
  const before = liveTensors();
  const ops = opResults();
  leaks['ops'] = liveTensors() - before;
  const results = { ...ops, ...(await trainingResults(leaks)) };
  const report: ChildReport = {
    backend,
    shimsRestored,
    results: Object.fromEntries(
      Object.entries(results).map(([k, v]) => [
        k,
        Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64'),
      ]),
    ),
    leaks,
  };
  process.stdout.write(JSON.stringify(report));
  // No process.exit: the process has to end by itself (pthread workers unref'd).
}

// ---- parent side ------------------------------------------------------------------------------

interface ChildRun {
  report: ChildReport;
}

/** Runs this file as a child; fails if it does not exit by itself within `timeoutMs`. */
function runChild(mode: ChildMode, env: NodeJS.ProcessEnv, timeoutMs = 180_000): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['-r', 'tsx/cjs', __filename, 'child', mode], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    proc.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    proc.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`child '${mode}' did not exit within ${timeoutMs} ms; stderr: ${err}`));
    }, timeoutMs);
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) {
        reject(new Error(`child '${mode}' exited with ${code ?? signal}; stderr: ${err}`));
        return;
      }
      try {
        resolve({ report: JSON.parse(out) as ChildReport });
      } catch {
        reject(new Error(`child '${mode}' printed no report: ${out.slice(0, 200)} ${err}`));
      }
    });
  });
}

function envWith(threads: string | undefined): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env[WASM_THREADS_ENV];
  if (threads !== undefined) env[WASM_THREADS_ENV] = threads;
  return env;
}

function floats(b64: string): Float32Array {
  const buf = Buffer.from(b64, 'base64');
  return new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
}

function assertSameResults(threaded: ChildReport, single: ChildReport): void {
  assert.deepEqual(Object.keys(threaded.results).sort(), Object.keys(single.results).sort());
  for (const [name, b64] of Object.entries(single.results)) {
    const expected = floats(b64);
    const actual = floats(threaded.results[name] ?? '');
    assert.equal(actual.length, expected.length, `${name}: length`);
    assert.ok(expected.length > 0, `${name}: empty`);
    let worst = 0;
    let at = -1;
    for (let i = 0; i < expected.length; i++) {
      const e = expected[i] as number;
      const d = Math.abs((actual[i] as number) - e) / Math.max(1, Math.abs(e));
      if (!(d <= worst)) [worst, at] = [d, i];
    }
    // XNNPACK splits the work across threads by output tiles, each computed by the same code:
    // the threaded results are expected to be bit-identical, and this allows for no drift.
    assert.ok(
      worst === 0,
      `${name}: threaded differs from single-threaded by ${worst} (relative) at ${at}: ` +
        `${actual[at]} vs ${expected[at]}`,
    );
  }
}

if (require.main === module) {
  const mode = (process.argv[3] ?? 'default') as ChildMode;
  child(mode).catch((err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  });
} else {
  describe('threaded WASM backend (wasmThreads)', function () {
    this.timeout(600_000);

    describe('wantedWasmThreads', function () {
      it('is one per CPU, at most 8, at least 1', function () {
        assert.equal(wantedWasmThreads({}, 2), 2);
        assert.equal(wantedWasmThreads({}, 1), 1);
        assert.equal(wantedWasmThreads({}, 0), 1);
        assert.equal(wantedWasmThreads({}, 64), MAX_WASM_THREADS);
      });

      it(`follows ${WASM_THREADS_ENV}, 1 = off, capped at 8`, function () {
        assert.equal(wantedWasmThreads({ [WASM_THREADS_ENV]: '1' }, 16), 1);
        assert.equal(wantedWasmThreads({ [WASM_THREADS_ENV]: ' 3 ' }, 2), 3);
        assert.equal(wantedWasmThreads({ [WASM_THREADS_ENV]: '99' }, 2), MAX_WASM_THREADS);
        assert.equal(wantedWasmThreads({ [WASM_THREADS_ENV]: '' }, 2), 2);
      });

      it('rejects a malformed override with a one-line reason', function () {
        for (const bad of ['0', '-2', '1.5', 'two', '2x']) {
          assert.throws(
            () => wantedWasmThreads({ [WASM_THREADS_ENV]: bad }, 2),
            new RegExp(`^Error: ${WASM_THREADS_ENV} must be a whole number .*'${bad}'$`),
          );
        }
      });
    });

    describe('in this process', function () {
      let found: string | undefined;
      before(() => (found = tf.getBackend()));
      after(async () => {
        if (found !== undefined) await tf.setBackend(found);
      });

      it('initBackend reports the real thread count and restores the shims', async function () {
        const createObjectURL = URL.createObjectURL;
        const cpus = nodeOs.cpus;
        const report = await initBackend('wasm');
        assert.equal(URL.createObjectURL, createObjectURL);
        assert.equal(nodeOs.cpus, cpus);
        assert.equal(os.cpus().length, cpuCount);
        // The build is fixed by the first init in the process (maybe another test file's).
        assert.equal(report.threads, wantedWasmThreads());
        if (cpuCount > 1 && process.env[WASM_THREADS_ENV] === undefined) {
          assert.ok(report.threads > 1, `expected threads on ${cpuCount} CPUs`);
        }
        assert.deepEqual(
          report.attempts.map((a) => [a.name, a.ok]),
          [['wasm', true]],
        );
      });

      it('leaks no tensors through ops, gradients and training steps', async function () {
        await initBackend('wasm');
        const before = liveTensors();
        for (let i = 0; i < 3; i++) opResults();
        assert.equal(liveTensors(), before);
        const leaks: Record<string, number> = {};
        await trainingResults(leaks);
        assert.deepEqual(leaks, { 'dcgan steps': 0, 'cgan steps': 0 });
      });
    });

    describe('threaded vs single-threaded, each in its own process', function () {
      let threaded: ChildRun;
      let single: ChildRun;
      before(async function () {
        // One after the other: they would compete for the same cores.
        threaded = await runChild('default', envWith(undefined));
        single = await runChild('default', envWith('1'));
      });

      it('the threaded process uses one thread per CPU (2 on a 2-core machine)', function () {
        const b = threaded.report.backend;
        assert.equal(b.threads, Math.min(cpuCount, MAX_WASM_THREADS));
        assert.equal(b.simd, true);
        assert.deepEqual(
          b.attempts.map((a) => [a.name, a.ok]),
          [['wasm', true]],
        );
        assert.ok(threaded.report.shimsRestored);
      });

      it(`${WASM_THREADS_ENV}=1 gives the single-threaded build, with nothing skipped`, function () {
        assert.equal(single.report.backend.threads, 1);
        assert.deepEqual(
          single.report.backend.attempts.map((a) => [a.name, a.ok]),
          [['wasm', true]],
        );
      });

      it('conv2d, conv2dTranspose, conv gradients, matMul and training steps match', function () {
        if (cpuCount < 2) this.skip();
        assertSameResults(threaded.report, single.report);
      });

      it('leaks no tensors, and both processes exit by themselves', function () {
        // runChild already failed if a process had to be killed.
        for (const run of [threaded, single]) {
          assert.deepEqual(run.report.leaks, { ops: 0, 'dcgan steps': 0, 'cgan steps': 0 });
        }
      });
    });

    it('falls back to the single-threaded build when the pthread workers cannot start', async function () {
      if (cpuCount < 2) this.skip();
      const { report } = await runChild('broken-workers', envWith(undefined));
      assert.equal(report.backend.threads, 1);
      assert.deepEqual(
        report.backend.attempts.map((a) => [a.name, a.ok]),
        [
          ['wasm', false],
          ['wasm', true],
        ],
      );
      assert.match(
        report.backend.attempts[0]?.reason ?? '',
        /^\d threads: a pthread worker failed to start: .* \(using the single-threaded build\)$/,
      );
      assert.ok(report.shimsRestored);
    });

    describe('from the bundle (dist/cli.js)', function () {
      let dir: string;
      let cleanup: () => void;
      before(function () {
        if (!fs.existsSync(CLI)) this.skip();
        ({ dir, cleanup } = makeTempDir('wasm-threads'));
      });
      after(() => cleanup?.());

      it('has the threaded runtime files next to the bundle', function () {
        for (const f of [...WASM_THREADED_GLUE_FILES, WASM_PTHREAD_WORKER_FILE]) {
          assert.ok(fs.existsSync(path.join(ROOT, 'dist', f)), `dist/${f} is missing`);
        }
      });

      it('trains with threads and exits by itself', async function () {
        const started = Date.now();
        const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>(
          (resolve, reject) => {
            const proc = spawn(
              process.execPath,
              [CLI, 'train', path.join(ROOT, 'examples', 'shapes-cgan.icgan.json')].concat([
                '--steps',
                '2',
                '--runs-dir',
                dir,
              ]),
              { cwd: ROOT, env: envWith(undefined), stdio: ['ignore', 'ignore', 'pipe'] },
            );
            let err = '';
            proc.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
            const timer = setTimeout(() => {
              proc.kill('SIGKILL');
              reject(new Error(`dist/cli.js did not exit within 180 s: ${err}`));
            }, 180_000);
            proc.on('exit', (c) => {
              clearTimeout(timer);
              resolve({ code: c, stderr: err });
            });
          },
        );
        assert.equal(code, 0, stderr);
        const threads = Math.min(cpuCount, MAX_WASM_THREADS);
        assert.match(
          stderr,
          new RegExp(`backend: wasm \\(SIMD on, ${threads} threads?\\)`),
          stderr.slice(0, 500),
        );
        assert.doesNotMatch(stderr, /skipped wasm/);
        assert.ok(Date.now() - started < 180_000);
      });
    });
  });
}
