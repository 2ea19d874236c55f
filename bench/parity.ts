/**
 * Step-for-step parity with a PyTorch mirror of the engine (bench/mirror/parity.py).
 *
 * For each case the engine trains a few steps of a real TrainingSession on the shapes data, and
 * records its initial weights, every update's inputs (real batch, labels, noise) and gradients,
 * the weights, EMA copy and losses after each step, the draws and results of the standing batch
 * statistics, and a batch sampled with them. The mirror (the same layers written in PyTorch over
 * the same named weights) replays it:
 *
 * - teacher-forced: each step starts from the engine's own weights, so every gradient, loss and
 *   Adam update is compared without earlier rounding differences piling up;
 * - free-running: the mirror trains all steps on its own from the initial weights;
 * - in float32 and float64, so a difference can be blamed: the side farther from float64 is wrong.
 *
 *   npx tsx bench/parity.ts [--cases dcgan,cgan,cgan-sn] [--steps 4] [--backend wasm]
 *                           [--out DIR] [--keep]
 *
 * Exits 1 when any check is beyond its tolerance (printed with the figures).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, type BackendName } from '../src/core/backend/backendChain';
import { resolveConfig } from '../src/core/config/loadConfig';
import type { TrainConfig } from '../src/core/config/types';
import { loadDataset } from '../src/core/data/loadDataset';
import type { ConvGan } from '../src/core/models/convGan';
import type { TensorMap } from '../src/core/models/paramStore';
import { Rng } from '../src/core/random/rng';
import { generateImages } from '../src/core/sampling/generateImages';
import { disposeStats, standingStatsDraws } from '../src/core/sampling/standingStats';
import { TrainingSession } from '../src/core/train/trainingSession';
import { flag, log } from './harness';
import { ensureTorchPeer } from './peers/torchPeer';
import { TensorBundle } from './tensorBundle';

/** The cases: the demo's cGAN, plain DCGAN, and a cGAN with the spectral-norm/hinge options. */
const CASES: Record<string, { model: Record<string, unknown>; training: Record<string, unknown> }> =
  {
    dcgan: { model: { type: 'dcgan', zDim: 64, gWidth: 16, dWidth: 16 }, training: {} },
    cgan: {
      model: {
        type: 'cgan',
        zDim: 64,
        gWidth: 16,
        dWidth: 16,
        embedDim: 32,
        dNorm: 'batch',
        dMinibatchStd: true,
      },
      training: {},
    },
    'cgan-sn': {
      model: { type: 'cgan', zDim: 64, gWidth: 16, dWidth: 16, embedDim: 32, dNorm: 'spectral' },
      training: { loss: 'hinge' },
    },
    'cgan-ac': {
      model: { type: 'cgan', zDim: 64, gWidth: 16, dWidth: 16, embedDim: 32, auxClassifier: 1 },
      training: { loss: 'hinge' },
    },
  };

function caseConfig(name: string, steps: number, out: string): TrainConfig {
  const c = CASES[name];
  if (!c) throw new Error(`unknown case '${name}' (${Object.keys(CASES).join(', ')})`);
  return resolveConfig(
    {
      seed: 7,
      data: { source: 'shapes', count: 512, resolution: 32, seed: 1 },
      model: c.model,
      training: { steps, batchSize: 32, ...c.training },
      runsDir: out,
    },
    path.join(out, `${name}.icgan.json`),
  );
}

function addMap(bundle: TensorBundle, prefix: string, map: TensorMap): void {
  for (const [name, t] of map) bundle.add(`${prefix}/${name}`, t.shape, t.dataSync());
}

async function record(name: string, steps: number, dir: string): Promise<void> {
  const config = caseConfig(name, steps, dir);
  const data = await loadDataset(config.data, () => undefined);
  const before = tf.memory().numTensors;
  const session = new TrainingSession(config, data);
  const model = session.model as ConvGan;
  const t = config.training;
  const bundle = new TensorBundle({
    case: name,
    steps,
    model: config.model,
    training: t,
    resolved: { dNorm: model.dNorm, minibatchStd: model.minibatchStd },
    numClasses: model.numClasses,
    image: model.image,
    backend: tf.getBackend(),
  });
  try {
    addMap(bundle, 'init/G', model.generatorParams);
    addMap(bundle, 'init/D', model.discriminatorParams);
    addMap(bundle, 'init/EMA', session.ema);
    let step = 0;
    session.probe = {
      discriminatorUpdate(real, cond, z, grads) {
        bundle.add(`s${step}/real`, real.shape, real.dataSync());
        if (cond.labels) bundle.add(`s${step}/labels`, cond.labels.shape, cond.labels.dataSync());
        bundle.add(`s${step}/zD`, z.shape, z.dataSync());
        addMap(bundle, `s${step}/gradD`, grads);
      },
      generatorUpdate(z, grads) {
        bundle.add(`s${step}/zG`, z.shape, z.dataSync());
        addMap(bundle, `s${step}/gradG`, grads);
      },
    };
    for (; step < steps; step++) {
      const s = await session.trainStep();
      bundle.add(`s${step}/loss`, [4], [s.dLoss, s.dReal, s.dFake, s.gLoss]);
      addMap(bundle, `s${step}/G`, model.generatorParams);
      addMap(bundle, `s${step}/D`, model.discriminatorParams);
      addMap(bundle, `s${step}/EMA`, session.ema);
    }
    // The sampler: standing statistics of the EMA generator, and a batch drawn with them.
    const draws = standingStatsDraws(model, config.seed + 1);
    draws.forEach((d, b) => {
      bundle.add(`stand/${b}/z`, [d.z.length / model.zDim, model.zDim], d.z);
      if (d.labels) bundle.add(`stand/${b}/labels`, [d.labels.length], d.labels);
    });
    const stats = session.standingStats();
    for (const [bn, s] of stats) {
      bundle.add(`stats/${bn}/mean`, s.mean.shape, s.mean.dataSync());
      bundle.add(`stats/${bn}/variance`, s.variance.shape, s.variance.dataSync());
    }
    const n = 16;
    const z = new Rng(99).normals(n * model.zDim);
    const labels =
      model.numClasses > 0 ? Int32Array.from({ length: n }, (_, i) => i % model.numClasses) : null;
    const images = await generateImages(model, session.ema, stats, z, { labels });
    bundle.add('sample/z', [n, model.zDim], z);
    if (labels) bundle.add('sample/labels', [n], labels);
    const { resolution: r, channels: c } = model.image;
    bundle.add('sample/out', [n, r, r, c], images.pixels);
    disposeStats(stats);
  } finally {
    session.dispose();
  }
  const leaked = tf.memory().numTensors - before;
  if (leaked !== 0) throw new Error(`${name}: ${leaked} tensors leaked`);
  bundle.write(dir);
}

async function main(): Promise<void> {
  const cases = flag('cases', Object.keys(CASES).join(',')).split(',');
  const steps = Number(flag('steps', '4'));
  const backend = flag('backend', 'wasm') as BackendName;
  const out = path.resolve(flag('out', fs.mkdtempSync(path.join(os.tmpdir(), 'icgan-parity-'))));
  await initBackend(backend);
  const peer = ensureTorchPeer(log);
  let failed = false;
  for (const name of cases) {
    const dir = path.join(out, name);
    log(`${name}: recording ${steps} engine steps on ${tf.getBackend()} into ${dir}`);
    await record(name, steps, dir);
    const r = spawnSync(peer.python, ['-s', path.join(__dirname, 'mirror', 'parity.py'), dir], {
      env: { ...process.env, ...peer.env, OMP_WAIT_POLICY: 'PASSIVE' },
      stdio: 'inherit',
    });
    if (r.status !== 0) failed = true;
  }
  if (!process.argv.includes('--keep')) fs.rmSync(out, { recursive: true, force: true });
  process.exitCode = failed ? 1 : 0;
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(2);
});
