import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend/backendChain';
import { createShapesDatasetWithAttributes, SHAPE_NAMES } from '../../src/core/data/shapesDataset';
import { encodePng } from '../../src/core/image/pngEncode';
import { Rng } from '../../src/core/random/rng';
import { suggestTags } from '../../src/core/tagging/suggestTags';
import { oneHotEmbeddings, skipGramEmbeddings } from '../../src/core/tagging/tagEmbeddings';
import { trainTagGan } from '../../src/core/tagging/tagGan';
import { TAGGER_LOCK, withTaggerLock } from '../../src/core/tagging/taggerLock';
import { loadTagger, saveTagger, TAGGER_FILE } from '../../src/core/tagging/taggerStore';
import type { TagOutput } from '../../src/protocol/runnerCommands';
import { icgan } from './support/icganCli';
import { makeTempDir } from './support/tempDir';

function cosine(v: Float32Array, d: number, a: number, b: number): number {
  let s = 0;
  for (let j = 0; j < d; j++) s += (v[a * d + j] ?? 0) * (v[b * d + j] ?? 0);
  return s;
}

/**
 * Image → tags (the cGAN paper's tagging experiment): tag embeddings, the tagging cGAN, its file,
 * and `icgan tag` on held-out shapes, whose true attributes are known.
 */
describe('image → tags', function () {
  before(async () => {
    await initBackend('wasm');
  });

  it('skip-gram puts tags that occur together closer than tags that never do', async () => {
    // Two "topics": {sky, blue, cloud} and {grass, green, cow}; images draw two tags of one topic.
    const names = ['blue', 'cloud', 'cow', 'grass', 'green', 'sky'];
    const topics = [
      [0, 1, 5],
      [2, 3, 4],
    ];
    const rng = new Rng(3);
    const lists = Array.from({ length: 400 }, () => {
      const topic = topics[rng.int(2)] as number[];
      const a = topic[rng.int(3)] as number;
      const b = topic.filter((t) => t !== a)[rng.int(2)] as number;
      return [a, b];
    });
    const e = await skipGramEmbeddings(names, lists, {
      dim: 8,
      steps: 600,
      batchSize: 32,
      negatives: 3,
      learningRate: 0.02,
      seed: 1,
    });
    const sameTopic = cosine(e.vectors, 8, 0, 5); // blue ~ sky
    const otherTopic = cosine(e.vectors, 8, 0, 4); // blue ~ green
    assert.ok(sameTopic > otherTopic + 0.2, `same ${sameTopic}, other ${otherTopic}`);
  });

  it('trains without leaking tensors, and a saved tagger suggests exactly what it did before saving', async () => {
    const { dir, cleanup } = makeTempDir('tagger');
    try {
      const rng = new Rng(5);
      const count = 64;
      const dim = 6;
      const features = rng.normals(count * dim);
      const lists = Array.from({ length: count }, (_, i) => [i % 3, 3 + (i % 2)]);
      const names = ['a', 'b', 'c', 'd', 'e'];
      const embeddings = oneHotEmbeddings(names);
      const settings = {
        zDim: 4,
        hidden: 16,
        pack: 2,
        steps: 1,
        batchSize: 8,
        learningRate: 1e-3,
        seed: 0,
      };
      (
        await trainTagGan(
          { features, featureDim: dim, tags: lists, embeddings: embeddings.vectors, embedDim: 5 },
          settings,
        )
      ).dispose();
      const before = tf.memory().numTensors;
      const gan = await trainTagGan(
        { features, featureDim: dim, tags: lists, embeddings: embeddings.vectors, embedDim: 5 },
        { ...settings, steps: 30 },
      );
      gan.dispose();
      assert.equal(tf.memory().numTensors, before, 'tensors leaked by tagger training');

      const trained = await trainTagGan(
        { features, featureDim: dim, tags: lists, embeddings: embeddings.vectors, embedDim: 5 },
        { ...settings, steps: 30 },
      );
      const opts = { samples: 20, nearestPerSample: 1, seed: 9 };
      const direct = await suggestTags(trained, embeddings, features.subarray(0, dim * 2), 2, opts);
      const tagging = {
        ...settings,
        embedding: 'onehot' as const,
        embedDim: 16,
        samples: 20,
        nearestPerSample: 1,
      };
      await saveTagger(dir, trained, embeddings, tagging, count);
      trained.dispose();
      const loaded = loadTagger(dir);
      assert.ok(loaded);
      try {
        assert.deepEqual(
          await suggestTags(loaded.gan, loaded.embeddings, features.subarray(0, dim * 2), 2, opts),
          direct,
        );
      } finally {
        loaded.dispose();
      }
      const file = path.join(dir, TAGGER_FILE);
      fs.writeFileSync(file, fs.readFileSync(file).subarray(0, 100));
      assert.throws(() => loadTagger(dir), /tagger\.ckpt: the tagger cannot be read .*--retrain/);
    } finally {
      cleanup();
    }
  });

  it('serialises tagger training on one run and takes over a lock whose process died', async () => {
    const { dir, cleanup } = makeTempDir('tagger-lock');
    try {
      const events: string[] = [];
      const lines: string[] = [];
      const job = (name: string, ms: number) =>
        withTaggerLock(
          dir,
          (l) => lines.push(l),
          async () => {
            events.push(`${name} start`);
            await new Promise((resolve) => setTimeout(resolve, ms));
            events.push(`${name} end`);
            return name;
          },
        );
      const first = job('a', 300);
      // b asks once a holds the lock (both start with an async mkdir, in either order).
      while (!events.includes('a start')) await new Promise((resolve) => setTimeout(resolve, 5));
      const second = job('b', 10);
      assert.deepEqual(await Promise.all([first, second]), ['a', 'b']);
      assert.deepEqual(events, ['a start', 'a end', 'b start', 'b end']);
      assert.match(lines.join('\n'), /process \d+ is training this run's tagger; waiting for it/);
      assert.equal(fs.existsSync(path.join(dir, TAGGER_LOCK)), false);

      // A lock left by a process that no longer exists does not block.
      const dead = spawnSync(
        process.execPath,
        ['-e', 'process.stdout.write(String(process.pid))'],
        {
          encoding: 'utf8',
        },
      ).stdout;
      fs.writeFileSync(
        path.join(dir, TAGGER_LOCK),
        JSON.stringify({ pid: Number(dead), hostname: os.hostname() }),
      );
      assert.equal(await job('c', 1), 'c');
    } finally {
      cleanup();
    }
  });

  it('icgan tag names the true shape of held-out shapes among its top 3 far more often than chance', async function () {
    // Trains an IC-GAN and a tagger: ~50 s alone, 111 s with a training run on the other core
    // (it hit the suite's 120 s limit in a fresh-clone run).
    this.timeout(600_000);
    const { dir, cleanup } = makeTempDir('icgan-tag');
    try {
      const config = path.join(dir, 'tags.icgan.json');
      fs.writeFileSync(
        config,
        JSON.stringify({
          seed: 1,
          data: { source: 'shapes', count: 2000, resolution: 16, seed: 1 },
          model: { type: 'icgan', zDim: 8, gWidth: 8, dWidth: 8, embedDim: 8 },
          training: { steps: 2, batchSize: 8 },
          samples: { every: 2, count: 4 },
          checkpoints: { every: 2 },
          instances: {
            k: 5,
            representatives: 2,
            galleryEvery: 2,
            gallerySamples: 2,
            features: { kind: 'selfsupervised' },
          },
          tagging: { steps: 3000 },
          runsDir: 'runs',
        }),
      );
      const train = icgan(['train', config, '--json'], dir, 240_000);
      assert.equal(train.code, 0, train.stderr);
      const runs = path.join(dir, 'runs');
      const runDir = path.join(runs, fs.readdirSync(runs).find((n) => !n.startsWith('.')) ?? '');

      // Held-out images: another seed of the generator, never seen by the run.
      const held = createShapesDatasetWithAttributes({
        source: 'shapes',
        count: HELD_OUT,
        resolution: 16,
        seed: 99,
      });
      const size = 16 * 16 * 3;
      const files: string[] = [];
      for (let i = 0; i < HELD_OUT; i++) {
        const file = path.join(dir, `held-${i}.png`);
        fs.writeFileSync(
          file,
          await encodePng(held.dataset.images.subarray(i * size, (i + 1) * size), 16, 16, 3),
        );
        files.push(file);
      }
      const first = icgan(
        ['tag', runDir, '--image', ...files, '--top', '3', '--json'],
        dir,
        240_000,
      );
      assert.equal(first.code, 0, first.stderr);
      assert.match(
        first.stderr,
        /tagger: onehot tag vectors for 24 tags; training the tagging cGAN on 2000 tagged images/,
      );
      const result = JSON.parse(first.stdout) as Omit<TagOutput, 'kind'>;
      assert.equal(result.trained, true);
      let hits = 0;
      result.images.forEach((r, i) => {
        assert.ok(r.tags.length <= 3);
        const shape = SHAPE_NAMES[held.attributes[i]?.shape ?? -1];
        if (r.tags.some((t) => t.tag === shape)) hits++;
      });
      const rate = hits / HELD_OUT;
      console.log(
        `      true shape among the top 3: ${rate.toFixed(3)} (chance ${CHANCE.toFixed(3)})`,
      );
      assert.ok(
        rate >= MIN_SHAPE_AT_3,
        `true shape in the top 3 of ${rate}, under ${MIN_SHAPE_AT_3}`,
      );

      // The tagger is kept: a second request reuses it.
      const again = icgan(['tag', runDir, '--image', files[0] ?? '', '--json'], dir);
      assert.equal((JSON.parse(again.stdout) as { trained: boolean }).trained, false);
      const missing = icgan(['tag', runDir, '--image', path.join(dir, 'nope.png')], dir);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /icgan: error: .*nope\.png/);
    } finally {
      cleanup();
    }
  });
});

const HELD_OUT = 200;
/** A ranking blind to the image puts a given tag in its top 3 of 24 with probability 3/24. */
const CHANCE = 3 / 24;
// Measured 0.300 with the self-supervised features of the run (seeded, so fixed on wasm); a
// supervised classifier on the same features does about as well — shape is the attribute the
// features carry least, and colour, position and size fill the top ranks. 0.22 is 2.5 binomial
// standard errors (200 images) under the measurement and 1.8× an image-blind ranking.
const MIN_SHAPE_AT_3 = 0.22;
