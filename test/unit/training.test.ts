import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { initBackend } from '../../src/core/backend/backendChain';
import { decodeCheckpoint, encodeCheckpoint } from '../../src/core/checkpoint/checkpointFile';
import { listCheckpoints } from '../../src/core/checkpoint/checkpointStore';
import { createShapesDataset } from '../../src/core/data/shapesDataset';
import { UserError } from '../../src/core/errors';
import { readEvents } from '../../src/core/run/eventLog';
import { readRunInfo, RUN_FILES } from '../../src/core/run/runFolder';
import { resumeRun, trainNew } from '../../src/core/train/trainJob';
import { TrainingSession } from '../../src/core/train/trainingSession';
import type { RunEvent, StepEvent } from '../../src/protocol/runnerEvents';
import { makeTempDir } from './support/tempDir';
import { tinyConfig } from './support/tinyConfig';

function collect(): { events: RunEvent[]; onEvent: (e: RunEvent) => void } {
  const events: RunEvent[] = [];
  return { events, onEvent: (e) => events.push(e) };
}

const steps = (events: RunEvent[]): StepEvent[] =>
  events.filter((e): e is StepEvent => e.type === 'step');

describe('training', function () {
  let dir: string;
  let cleanup: () => void;
  before(async () => {
    await initBackend('wasm');
  });
  beforeEach(() => ({ dir, cleanup } = makeTempDir('train')));
  afterEach(() => cleanup());

  for (const type of ['dcgan', 'cgan', 'cgan-mlp'] as const) {
    it(`${type}: tf.memory().numTensors stays flat across training steps`, async () => {
      const cfg = tinyConfig(dir, {
        model: {
          type,
          zDim: 16,
          gWidth: 8,
          dWidth: 8,
          embedDim: 8,
          mlp: {
            zHidden: 16,
            yHidden: 16,
            jointHidden: 32,
            dxUnits: 16,
            dyUnits: 8,
            dJointUnits: 16,
          },
        },
      });
      const data = createShapesDataset({ source: 'shapes', count: 64, resolution: 16, seed: 1 });
      const before = tf.memory().numTensors;
      const session = new TrainingSession(cfg, data);
      await session.trainStep();
      const afterOne = tf.memory().numTensors;
      const n = type === 'cgan' ? 50 : 10;
      for (let i = 0; i < n; i++) await session.trainStep();
      assert.equal(tf.memory().numTensors, afterOne, `tensors leaked over ${n} steps`);
      const stats = session.standingStats();
      await session.snapshot(stats, null);
      for (const s of stats.values()) tf.dispose([s.mean, s.variance]);
      assert.equal(tf.memory().numTensors, afterOne, 'snapshot leaked');
      session.dispose();
      assert.equal(tf.memory().numTensors, before, 'dispose left tensors behind');
    });
  }

  it('writes the run-folder contract: config, run.json, events, samples, checkpoints', async () => {
    const { events, onEvent } = collect();
    const ended = await trainNew(tinyConfig(dir), { onEvent });
    assert.equal(ended.status, 'finished');
    const started = events[events.findIndex((e) => e.type === 'run-started')];
    assert.ok(started?.type === 'run-started');
    const runDir = started.runDir;
    assert.equal(path.dirname(runDir), dir);
    assert.match(path.basename(runDir), /^tiny-\d{8}-\d{6}$/);

    const info = readRunInfo(runDir);
    assert.equal(info.status, 'finished');
    assert.equal(info.backend, 'wasm');
    assert.equal(info.step, 12);
    assert.equal(info.lastCheckpoint, path.join('checkpoints', 'ckpt-00000012.icgan-ckpt'));
    assert.ok(info.trainingSeconds > 0);

    const stored = JSON.parse(fs.readFileSync(path.join(runDir, RUN_FILES.config), 'utf8')) as {
      training: { steps: number };
    };
    assert.equal(stored.training.steps, 12);

    const logged = readEvents(path.join(runDir, RUN_FILES.events));
    assert.deepEqual(
      logged.map((e) => e.type),
      events.map((e) => e.type),
    );
    assert.equal(steps(logged).length, 12);
    assert.ok(started.backend.attempts.some((a) => a.name === 'wasm' && a.ok));

    const samples = logged
      .filter((e) => e.type === 'samples')
      .map((e) => (e.type === 'samples' ? e.step : -1));
    assert.deepEqual(samples, [6, 12]);
    // The collapse watch: one reading per sample grid, one group per class, each a finite ratio.
    const watch = logged.filter((e) => e.type === 'diversity');
    assert.deepEqual(
      watch.map((e) => e.step),
      [6, 12],
    );
    for (const e of watch) {
      assert.ok(e.type === 'diversity');
      assert.deepEqual(
        e.groups.map((g) => g.name),
        ['circle', 'square', 'triangle', 'cross'],
      );
      assert.ok(e.groups.every((g) => Number.isFinite(g.ratio) && g.ratio >= 0));
    }
    const meta = await sharp(path.join(runDir, RUN_FILES.latestSample)).metadata();
    // 16 images of 16 px in a 4×4 grid with 2 px padding.
    assert.equal(meta.width, 4 * 16 + 5 * 2);
    assert.equal(meta.height, 4 * 16 + 5 * 2);
    assert.ok(fs.existsSync(path.join(runDir, 'samples', 'step-00000006.png')));
    assert.deepEqual(
      listCheckpoints(path.join(runDir, RUN_FILES.checkpoints)).map((c) => c.step),
      [12, 6],
    );
  });

  it('a resumed run continues the loss curve of an uninterrupted run with the same seed', async () => {
    const full = collect();
    await trainNew(tinyConfig(path.join(dir, 'a')), { onEvent: full.onEvent });

    const first = collect();
    await trainNew(tinyConfig(path.join(dir, 'b')), { onEvent: first.onEvent, steps: 6 });
    const started = first.events.find((e) => e.type === 'run-started');
    assert.ok(started?.type === 'run-started');
    const resumed = collect();
    const ended = await resumeRun(started.runDir, { onEvent: resumed.onEvent, steps: 12 });
    assert.equal(ended.status, 'finished');

    const expected = steps(full.events).filter((e) => e.step > 6);
    const got = steps(resumed.events);
    assert.deepEqual(
      got.map((e) => e.step),
      [7, 8, 9, 10, 11, 12],
    );
    got.forEach((e, i) => {
      const want = expected[i] as StepEvent;
      for (const k of ['dLoss', 'gLoss', 'dReal', 'dFake'] as const) {
        assert.ok(
          Math.abs(e[k] - want[k]) <= 1e-6 * Math.max(1, Math.abs(want[k])),
          `step ${e.step} ${k}: ${e[k]} vs ${want[k]}`,
        );
      }
    });
    const info = readRunInfo(started.runDir);
    assert.equal(info.step, 12);
    assert.equal(info.status, 'finished');
  });

  it('stops at a stop request with a checkpoint of the step reached', async () => {
    const { events, onEvent } = collect();
    const ended = await trainNew(tinyConfig(dir), {
      onEvent,
      shouldStop: () => steps(events).length >= 3,
    });
    assert.equal(ended.status, 'stopped');
    assert.equal(ended.step, 3);
    assert.equal(ended.lastCheckpoint, path.join('checkpoints', 'ckpt-00000003.icgan-ckpt'));
  });

  it('detects divergence at the first bad step and names the last good checkpoint', async () => {
    const { events, onEvent } = collect();
    await trainNew(tinyConfig(dir), { onEvent, steps: 6 });
    const started = events.find((e) => e.type === 'run-started');
    assert.ok(started?.type === 'run-started');
    // Poison the discriminator's weights in an otherwise valid checkpoint.
    const file = path.join(started.runDir, 'checkpoints', 'ckpt-00000006.icgan-ckpt');
    const { meta, tensors } = decodeCheckpoint(fs.readFileSync(file));
    const poisoned = [...tensors.values()].map((t) =>
      t.name.startsWith('D/') ? { ...t, data: t.data.map(() => NaN) } : t,
    );
    fs.writeFileSync(file, encodeCheckpoint(meta, poisoned));

    const ended = await resumeRun(started.runDir, { steps: 10 });
    assert.equal(ended.status, 'failed');
    assert.equal(ended.step, 7);
    assert.match(ended.message ?? '', /diverged at step 7: dLoss is NaN/);
    assert.match(
      ended.message ?? '',
      /last good checkpoint is checkpoints\/ckpt-00000006\.icgan-ckpt \(step 6\)/,
    );
    assert.equal(readRunInfo(started.runDir).status, 'failed');
  });

  it('stops a run whose loss explodes past training.divergenceLoss at that step', async () => {
    const { events, onEvent } = collect();
    // A threshold below the loss at initialisation (≈ 1.39 for D) plays the explosion.
    const cfg = tinyConfig(dir, {
      training: { steps: 12, batchSize: 8, logEvery: 1, divergenceLoss: 0.5 },
    });
    const ended = await trainNew(cfg, { onEvent });
    assert.equal(ended.status, 'failed');
    assert.equal(ended.step, 1);
    assert.match(
      ended.message ?? '',
      /diverged at step 1: dLoss is [\d.]+, beyond training\.divergenceLoss \(0\.5\)/,
    );
    assert.match(ended.message ?? '', /no checkpoint was written yet/);
    assert.equal(events.filter((e) => e.type === 'step').length, 0);
  });

  it('reports a runs folder that cannot be created as a user error', async () => {
    fs.writeFileSync(path.join(dir, 'file'), 'x');
    await assert.rejects(trainNew(tinyConfig(path.join(dir, 'file', 'runs'))), (err: unknown) => {
      assert.ok(err instanceof UserError);
      assert.match(err.message, /runs folder .*file\/runs cannot be created: ENOTDIR/);
      return true;
    });
  });

  it('refuses a class-conditional model on an unlabelled data set', async () => {
    const imgs = path.join(dir, 'imgs');
    fs.mkdirSync(imgs);
    for (let i = 0; i < 3; i++) {
      await sharp({
        create: { width: 20, height: 20, channels: 3, background: { r: 80 * i, g: 10, b: 200 } },
      })
        .png()
        .toFile(path.join(imgs, `${i}.png`));
    }
    await assert.rejects(
      trainNew(tinyConfig(dir, { data: { source: 'folder', path: imgs, resolution: 16 } })),
      /model\.type 'cgan' needs class labels, but the data set has none/,
    );
  });
});
