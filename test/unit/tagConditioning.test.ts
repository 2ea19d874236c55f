import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { initBackend } from '../../src/core/backend/backendChain';
import { resolveConfig } from '../../src/core/config/loadConfig';
import type { ShapesDataConfig } from '../../src/core/config/types';
import { loadDataset } from '../../src/core/data/loadDataset';
import {
  createShapesDatasetWithAttributes,
  shapesTagConditions,
} from '../../src/core/data/shapesDataset';
import {
  measureTagConditioning,
  trainAttributeClassifiers,
} from '../../src/core/metrics/tagConditioning';
import { loadRunInstances } from '../../src/core/instances/prepareInstances';
import { generateFromInstance } from '../../src/core/sampling/generateFromInstance';
import { sampleRun } from '../../src/core/sampling/sampleRun';
import { disposeStats } from '../../src/core/sampling/standingStats';
import { trainNew } from '../../src/core/train/trainJob';
import { TrainingSession } from '../../src/core/train/trainingSession';
import { makeTempDir } from './support/tempDir';
import { tinyConfig, tinyConfigJson } from './support/tinyConfig';

/**
 * model.condition 'tags' and 'vector': y is the image's multi-hot tags or its sidecar vector.
 * The quality check: classifiers trained on real shapes read the colour and the position of
 * samples generated from requested tags; a generator that ignored its tags would score chance.
 */
const GAN_STEPS = 400;
const SAMPLES = 200;
// Measured at 400 steps on wasm (seeded): colour 0.82, position 0.72 — chance 0.125 and 0.11,
// whose binomial noise over 200 samples is ±0.025. The thresholds are 4× chance or more.
const MIN_COLOUR = 0.5;
const MIN_POSITION = 0.45;

describe('conditioning on tags and vectors', function () {
  before(async () => {
    await initBackend('wasm');
  });

  it('a tags-conditioned cgan draws the requested colour and position far above chance', async () => {
    const config = resolveConfig(
      {
        seed: 3,
        data: { source: 'shapes', count: 4000, resolution: 16 },
        model: { type: 'cgan', condition: 'tags', zDim: 32, gWidth: 16, dWidth: 16, embedDim: 16 },
        training: { steps: GAN_STEPS, batchSize: 32, loss: 'hinge', gLr: 0.001, dLr: 0.001 },
      },
      '/tmp/tags.icgan.json',
    );
    const shapes = createShapesDatasetWithAttributes(config.data as ShapesDataConfig);
    const data = { ...shapes.dataset, conditions: shapesTagConditions(shapes) };
    const judges = await trainAttributeClassifiers(shapes, { steps: 400, width: 16 }, [
      'colour',
      'position',
    ]);
    const session = new TrainingSession(config, data);
    try {
      assert.equal(session.model.conditionDim, 24);
      assert.equal(session.model.numClasses, 0);
      await session.trainStep();
      const tensors = tf.memory().numTensors;
      for (let i = 1; i < GAN_STEPS; i++) await session.trainStep();
      assert.equal(tf.memory().numTensors, tensors, 'tensors leaked across steps');
      const stats = session.standingStats();
      const scores = await measureTagConditioning(
        session.model,
        session.ema,
        stats,
        data.conditions.tagNames,
        shapes,
        judges,
        { samples: SAMPLES, seed: 5 },
      );
      disposeStats(stats);
      const by = new Map(scores.map((s) => [s.group, s]));
      console.log(
        `      ${scores.map((s) => `${s.group} ${s.generatedAccuracy.toFixed(2)} (chance ${s.chance.toFixed(2)}, real ${s.realAccuracy.toFixed(2)})`).join(', ')}`,
      );
      assert.ok(
        (by.get('colour')?.realAccuracy ?? 0) > 0.9,
        'the colour judge cannot read real images',
      );
      assert.ok((by.get('colour')?.generatedAccuracy ?? 0) >= MIN_COLOUR);
      assert.ok((by.get('position')?.generatedAccuracy ?? 0) >= MIN_POSITION);
    } finally {
      session.dispose();
      judges.dispose();
    }
  });

  it('samples a run with --tags, lists the known tags for an unknown one, and checks --condition', async () => {
    const { dir, cleanup } = makeTempDir('tags-run');
    try {
      const config = tinyConfig(dir, {
        model: { type: 'cgan', condition: 'tags', zDim: 16, gWidth: 8, dWidth: 8, embedDim: 8 },
      });
      const ended = await trainNew(config);
      assert.equal(ended.status, 'finished');
      const runDir = path.join(dir, fs.readdirSync(dir).find((n) => !n.endsWith('.json')) ?? '');
      const out = await sampleRun(runDir, {
        count: 4,
        truncation: 0,
        seed: 1,
        tags: ['red', 'circle'],
        out: path.join(dir, 'red-circle.png'),
      });
      const meta = await sharp(out.file).metadata();
      assert.equal(out.columns, 2);
      assert.ok((meta.width ?? 0) >= 2 * 16);
      await assert.rejects(
        sampleRun(runDir, { count: 4, truncation: 0, seed: 1, tags: ['red', 'rhombus'] }),
        /--tags: unknown tag 'rhombus' \(known: .*circle.*red.*\)/,
      );
      await assert.rejects(
        sampleRun(runDir, { count: 4, truncation: 0, seed: 1, className: 'circle' }),
        /--class: this run's model \(cgan\) is not class-conditional/,
      );
      const bad = path.join(dir, 'vec.json');
      fs.writeFileSync(bad, '[1, 2]');
      await assert.rejects(
        sampleRun(runDir, { count: 4, truncation: 0, seed: 1, conditionFile: bad }),
        /--condition .*vec\.json: the vector has 2 numbers; this run's model takes 24/,
      );
      // The tags reach the generator: a file naming tags is the same request as --tags, and
      // other tags with the same seed give other images.
      fs.writeFileSync(bad, '{"tags": ["blue", "square"]}');
      const same = { count: 4, truncation: 0, seed: 1 };
      const fromFile = await sampleRun(runDir, {
        ...same,
        conditionFile: bad,
        out: path.join(dir, 'from-file.png'),
      });
      const fromFlag = await sampleRun(runDir, {
        ...same,
        tags: ['blue', 'square'],
        out: path.join(dir, 'from-flag.png'),
      });
      const png = (f: string) => fs.readFileSync(f);
      assert.ok(png(fromFile.file).equals(png(fromFlag.file)));
      assert.ok(!png(out.file).equals(png(fromFlag.file)), 'red circle drew blue squares');
    } finally {
      cleanup();
    }
  });

  it('trains on sidecar vectors (cgan-mlp) and an icgan-class on tags, with conditions kept in the run', async () => {
    const { dir, cleanup } = makeTempDir('vector-run');
    try {
      const imgs = path.join(dir, 'imgs');
      fs.mkdirSync(imgs);
      const rows = ['file,tags,brightness,warmth'];
      for (let i = 0; i < 24; i++) {
        const v = 20 + i * 9;
        await sharp(Buffer.alloc(8 * 8 * 3, v), { raw: { width: 8, height: 8, channels: 3 } })
          .png()
          .toFile(path.join(imgs, `${String(i).padStart(2, '0')}.png`));
        rows.push(
          `${String(i).padStart(2, '0')}.png,${i < 12 ? 'dark' : 'light'},${v / 255},${i % 2}`,
        );
      }
      fs.writeFileSync(path.join(dir, 'meta.csv'), `${rows.join('\n')}\n`);
      const data = { source: 'folder', path: 'imgs', resolution: 8, sidecar: 'meta.csv' };
      const vectorRun = resolveConfig(
        tinyConfigJson({
          runsDir: 'runs',
          data,
          model: {
            type: 'cgan-mlp',
            condition: 'vector',
            zDim: 8,
            mlp: {
              zHidden: 16,
              yHidden: 8,
              jointHidden: 16,
              dxUnits: 8,
              dyUnits: 4,
              dJointUnits: 8,
            },
          },
        }),
        path.join(dir, 'v.icgan.json'),
      );
      assert.equal((await trainNew(vectorRun)).status, 'finished');
      const runs = path.join(dir, 'runs');
      const vectorDir = path.join(runs, fs.readdirSync(runs).find((n) => !n.startsWith('.')) ?? '');
      const cond = path.join(dir, 'cond.json');
      fs.writeFileSync(cond, '{"vector": [0.5, 1]}');
      const sampled = await sampleRun(vectorDir, {
        count: 4,
        truncation: 0,
        seed: 2,
        conditionFile: cond,
        out: path.join(dir, 'vector-a.png'),
      });
      fs.writeFileSync(cond, '[0, 0]');
      const other = await sampleRun(vectorDir, {
        count: 4,
        truncation: 0,
        seed: 2,
        conditionFile: cond,
        out: path.join(dir, 'vector-b.png'),
      });
      // Same noise, another vector: other images, so the vector reaches the generator.
      assert.ok(!fs.readFileSync(sampled.file).equals(fs.readFileSync(other.file)));
      await assert.rejects(
        sampleRun(vectorDir, { count: 4, truncation: 0, seed: 2, tags: ['dark'] }),
        /--tags: this run's model \(cgan-mlp\) is conditioned on a vector of 2, not on tags/,
      );

      const loaded = await loadDataset(vectorRun.data, () => undefined);
      assert.equal(loaded.conditions?.vectorDim, 2);
      const icgan = resolveConfig(
        tinyConfigJson({
          runsDir: 'runs2',
          data,
          model: {
            type: 'icgan-class',
            condition: 'tags',
            zDim: 8,
            gWidth: 8,
            dWidth: 8,
            embedDim: 8,
          },
          instances: { k: 3, representatives: 2, features: { kind: 'pixels', dim: 8 } },
        }),
        path.join(dir, 'i.icgan.json'),
      );
      assert.equal((await trainNew(icgan)).status, 'finished');
      const runs2 = path.join(dir, 'runs2');
      const icganDir = path.join(
        runs2,
        fs.readdirSync(runs2).find((n) => !n.startsWith('.')) ?? '',
      );
      const index = loadRunInstances(icganDir);
      assert.equal(index.conditionDim, 2);
      // Instance 0 is 00.png, tagged 'dark' (y = [dark, light]); 12.png is the first 'light'.
      assert.deepEqual([...(index.conditions ?? []).slice(0, 2)], [1, 0]);
      assert.deepEqual([...(index.conditions ?? []).slice(24, 26)], [0, 1]);
      // Each row keeps its instance and adds a tag; swapping replaces the row's own tags.
      for (const request of [{ addTags: ['light'] }, { tags: ['dark'] }]) {
        const r = await sampleRun(icganDir, { count: 4, truncation: 0, seed: 2, ...request });
        assert.ok(fs.existsSync(r.file));
      }
      // Generation from an instance pairs it with its own tags ('dark'), or with swapped ones:
      // the same noise then gives other images.
      const grids: Buffer[] = [];
      for (const tags of [undefined, ['light']]) {
        const g = await generateFromInstance(icganDir, {
          source: { instance: 3 },
          count: 2,
          candidates: 4,
          truncation: 0,
          seed: 1,
          tags,
          out: path.join(dir, `gen-${tags ? 'swapped' : 'own'}`),
        });
        assert.equal(g.files.length, 2);
        grids.push(fs.readFileSync(g.grid));
      }
      assert.ok(
        !(grids[0] as Buffer).equals(grids[1] as Buffer),
        'swapping the tags changed nothing',
      );
      await assert.rejects(
        generateFromInstance(icganDir, {
          source: { instance: 3 },
          count: 2,
          candidates: 4,
          truncation: 0,
          seed: 1,
          tags: ['purple'],
        }),
        /--tags: unknown tag 'purple' \(known: dark, light\)/,
      );
    } finally {
      cleanup();
    }
  });

  it('rejects conditions the data or the model cannot give, naming the field', () => {
    const base = '/tmp/x.icgan.json';
    assert.throws(
      () => resolveConfig(tinyConfigJson({ model: { type: 'cgan', condition: 'vector' } }), base),
      /model\.condition: 'vector' needs per-image vectors; shapes has tags only/,
    );
    assert.throws(
      () => resolveConfig(tinyConfigJson({ model: { type: 'icgan', condition: 'tags' } }), base),
      /model\.condition: 'tags' needs a model with a condition input \(cgan, cgan-mlp or icgan-class\), not 'icgan'/,
    );
    assert.throws(
      () =>
        resolveConfig(
          tinyConfigJson({
            data: { source: 'folder', path: '/tmp' },
            model: { type: 'cgan', condition: 'tags' },
          }),
          base,
        ),
      /data\.sidecar: model\.condition 'tags' needs a sidecar file of per-image tags/,
    );
  });
});
