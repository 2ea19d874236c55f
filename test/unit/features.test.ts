import * as assert from 'assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend/backendChain';
import { gatherBatch } from '../../src/core/data/batch';
import type { ImageDataset } from '../../src/core/data/dataset';
import { createShapesDataset } from '../../src/core/data/shapesDataset';
import { UserError } from '../../src/core/errors';
import { augmentBatch } from '../../src/core/features/augment';
import { EXTRACTOR_FILE } from '../../src/core/features/extractorFile';
import {
  cacheEntryPaths,
  computeOrLoadFeatures,
  featureCacheKey,
} from '../../src/core/features/featureCache';
import {
  fitFeatureExtractor,
  loadFeatureExtractor,
  type FeatureExtractor,
} from '../../src/core/features/featureExtractor';
import {
  resolveFeatureSettings,
  type FeatureSettings,
  type FeatureSettingsInput,
} from '../../src/core/features/featureSettings';
import { fitPca } from '../../src/core/features/pca';
import { PixelExtractor } from '../../src/core/features/pixelFeatures';
import { exactCosineKnn } from '../../src/core/neighbours/cosineKnn';
import { Rng } from '../../src/core/random/rng';
import { makeTempDir } from './support/tempDir';

/** Small enough for the unit suite (~15 s of training), long enough to learn the views. */
const QUICK: FeatureSettingsInput = { steps: 300, batchSize: 64 };

async function fit(data: ImageDataset, input: FeatureSettingsInput): Promise<FeatureExtractor> {
  return fitFeatureExtractor(data, resolveFeatureSettings(input));
}

function assertUnitRows(f: Float32Array, n: number, d: number): void {
  assert.strictEqual(f.length, n * d);
  for (let i = 0; i < n; i++) {
    let sq = 0;
    for (let c = 0; c < d; c++) sq += f[i * d + c]! ** 2;
    assert.ok(Math.abs(Math.sqrt(sq) - 1) < 1e-5, `row ${i} has norm ${Math.sqrt(sq)}`);
  }
}

/** Fraction of the 5 nearest neighbours (cosine) that share the image's label. */
async function knnAgreement(
  f: Float32Array,
  n: number,
  d: number,
  labels: Int32Array,
  k = 5,
): Promise<number> {
  const { indices } = await exactCosineKnn(f, n, d, k);
  let agree = 0;
  for (let i = 0; i < n * k; i++)
    agree += labels[indices[i]!] === labels[Math.floor(i / k)] ? 1 : 0;
  return agree / (n * k);
}

interface ViewStats {
  /** Fraction of first views whose most similar second view is the same image's. */
  top1: number;
  meanPositive: number;
  meanNegative: number;
}

/** Embeds two augmented views of each of the first `n` images and compares them. */
async function viewRetrieval(
  extractor: FeatureExtractor,
  data: ImageDataset,
  settings: FeatureSettings,
  n: number,
): Promise<ViewStats> {
  if (settings.kind !== 'selfsupervised') throw new Error('views need augmentation settings');
  const rng = new Rng(99);
  const x = gatherBatch(data, [...Array(n).keys()]);
  const views: Float32Array[] = [];
  for (let view = 0; view < 2; view++) {
    const v = augmentBatch(x, rng, settings.augment);
    const values = v.dataSync() as Float32Array;
    v.dispose();
    views.push(await extractor.embed(values, n));
  }
  const [a, b] = views as [Float32Array, Float32Array];
  x.dispose();
  const d = extractor.dim;
  let hits = 0;
  let positive = 0;
  let negative = 0;
  for (let i = 0; i < n; i++) {
    let best = -1;
    let bestSim = -Infinity;
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let c = 0; c < d; c++) s += a[i * d + c]! * b[j * d + c]!;
      if (s > bestSim) [best, bestSim] = [j, s];
      if (i === j) positive += s;
      else negative += s;
    }
    if (best === i) hits++;
  }
  return { top1: hits / n, meanPositive: positive / n, meanNegative: negative / (n * (n - 1)) };
}

describe('instance features', function () {
  let data: ImageDataset;
  let trained: FeatureExtractor;
  let startTensors: number;
  const temp = makeTempDir('features');

  before(async () => {
    await initBackend('wasm');
    startTensors = tf.memory().numTensors;
    data = createShapesDataset({ source: 'shapes', count: 256, resolution: 32, seed: 3 });
    trained = await fit(data, QUICK);
  });

  after(() => {
    trained.dispose();
    temp.cleanup();
    assert.strictEqual(tf.memory().numTensors, startTensors, 'tensors leaked');
  });

  describe('self-supervised extractor', () => {
    it('maps two views of an image nearer each other than to other images', async () => {
      const settings = resolveFeatureSettings(QUICK);
      const after = await viewRetrieval(trained, data, settings, 64);
      const untrained = await fit(data, { ...QUICK, steps: 0 });
      const before = await viewRetrieval(untrained, data, settings, 64);
      untrained.dispose();
      console.log(
        `      views, 64 images: top-1 ${after.top1.toFixed(2)} (untrained ${before.top1.toFixed(2)}), ` +
          `cosine positive ${after.meanPositive.toFixed(2)} vs negative ${after.meanNegative.toFixed(2)}`,
      );
      // Measured 0.27 and a 0.23 gap with these settings; chance is 1/64 ≈ 0.016.
      assert.ok(after.top1 >= 0.15, `top-1 ${after.top1} should be ≫ 1/64`);
      assert.ok(after.top1 > before.top1, 'training should improve view retrieval');
      assert.ok(after.meanPositive - after.meanNegative >= 0.15, JSON.stringify(after));
    });

    it('gives unit-length features of the settings dimension, in any batch split', async () => {
      const f = await trained.embed(data.images, data.count);
      assert.strictEqual(trained.dim, 128);
      assertUnitRows(f, data.count, trained.dim);
      // Standing batch-norm statistics: an image's features do not depend on its batch.
      const size = 32 * 32 * 3;
      const alone = await trained.embed(data.images.subarray(5 * size, 6 * size), 1);
      const row = f.subarray(5 * 128, 6 * 128);
      for (let c = 0; c < 128; c++) assert.ok(Math.abs(alone[c]! - row[c]!) < 1e-5);
    });

    it('puts images of one shape near each other, above raw pixels', async () => {
      const labels = data.labels as Int32Array;
      const ours = await knnAgreement(
        await trained.embed(data.images, data.count),
        data.count,
        128,
        labels,
      );
      const pixels = await fit(data, { kind: 'pixels' });
      const raw = await knnAgreement(
        await pixels.embed(data.images, data.count),
        data.count,
        pixels.dim,
        labels,
      );
      pixels.dispose();
      console.log(
        `      5-NN shape agreement: self-supervised ${ours.toFixed(3)}, pixels ${raw.toFixed(3)} (chance 0.25)`,
      );
      // The quick unit setting; the defaults and larger data sets do better (see the report).
      assert.ok(ours > 0.3 && ours > raw + 0.03, `agreement ${ours} vs pixels ${raw}`);
    });

    it('is deterministic for a seed', async () => {
      const again = await fit(data, { ...QUICK, steps: 5 });
      const twice = await fit(data, { ...QUICK, steps: 5 });
      const other = await fit(data, { ...QUICK, steps: 5, seed: 1 });
      const images = data.images.subarray(0, 8 * 32 * 32 * 3);
      assert.deepStrictEqual(await again.embed(images, 8), await twice.embed(images, 8));
      assert.notDeepStrictEqual(await again.embed(images, 8), await other.embed(images, 8));
      [again, twice, other].forEach((e) => e.dispose());
    });
  });

  describe('saving and loading', () => {
    it('save → load → embed gives identical features', async () => {
      const pca = await fit(data, { kind: 'pixels', pcaDim: 16 });
      const raw = await fit(data, { kind: 'pixels' });
      for (const [name, extractor] of [
        ['selfsupervised', trained],
        ['pca', pca],
        ['raw', raw],
      ] as const) {
        const dir = path.join(temp.dir, `saved-${name}`);
        await extractor.save(dir);
        const loaded = await loadFeatureExtractor(dir);
        assert.strictEqual(loaded.kind, extractor.kind);
        assert.strictEqual(loaded.dim, extractor.dim);
        assert.deepStrictEqual(loaded.input, extractor.input);
        assert.deepStrictEqual(
          await loaded.embed(data.images, data.count),
          await extractor.embed(data.images, data.count),
        );
        loaded.dispose();
      }
      pca.dispose();
      raw.dispose();
    });

    it('rejects a tampered, truncated or missing file with a message naming it', async () => {
      const dir = path.join(temp.dir, 'tampered');
      await trained.save(dir);
      const file = path.join(dir, EXTRACTOR_FILE);
      const good = fs.readFileSync(file);
      const flipped = Buffer.from(good);
      flipped[Math.floor(flipped.length / 2)]! ^= 0x40;
      const cases: [Buffer | null, RegExp][] = [
        [flipped, /checksum/],
        [good.subarray(0, good.length - 100), /checksum/],
        [Buffer.from('not a file'), /not a checkpoint/],
        [null, /cannot read/],
      ];
      for (const [content, reason] of cases) {
        if (content) fs.writeFileSync(file, content);
        else fs.rmSync(file);
        await assert.rejects(
          loadFeatureExtractor(dir),
          (err: unknown) =>
            err instanceof UserError && err.message.includes(file) && reason.test(err.message),
        );
      }
    });
  });

  describe('cache', () => {
    it('loads the second time, with identical features and a restorable extractor', async () => {
      const settings = resolveFeatureSettings({ ...QUICK, steps: 40 });
      const cacheDir = path.join(temp.dir, 'cache');
      const lines: string[] = [];
      const t0 = performance.now();
      const first = await computeOrLoadFeatures(data, settings, cacheDir, (l) => lines.push(l));
      const t1 = performance.now();
      const second = await computeOrLoadFeatures(data, settings, cacheDir, (l) => lines.push(l));
      const t2 = performance.now();
      console.log(
        `      cache: computed in ${(t1 - t0).toFixed(0)} ms, loaded in ${(t2 - t1).toFixed(0)} ms`,
      );
      assert.strictEqual(first.cached, false);
      assert.strictEqual(second.cached, true);
      assert.strictEqual(second.key, first.key);
      assert.deepStrictEqual(second.features, first.features);
      assert.ok(t2 - t1 < (t1 - t0) / 5, 'loading should be much faster than computing');
      const unseen = createShapesDataset({ source: 'shapes', count: 4, resolution: 32, seed: 9 });
      assert.deepStrictEqual(
        await second.extractor.embed(unseen.images, 4),
        await first.extractor.embed(unseen.images, 4),
      );
      first.extractor.dispose();
      second.extractor.dispose();

      // A damaged entry is reported and recomputed, never used.
      const { features } = cacheEntryPaths(cacheDir, first.key);
      const bytes = fs.readFileSync(features);
      bytes[bytes.length - 1]! ^= 1;
      fs.writeFileSync(features, bytes);
      const third = await computeOrLoadFeatures(data, settings, cacheDir, (l) => lines.push(l));
      assert.strictEqual(third.cached, false);
      assert.deepStrictEqual(third.features, first.features);
      assert.ok(lines.some((l) => l.includes('ignoring cache entry') && l.includes('checksum')));
      third.extractor.dispose();
      const fourth = await computeOrLoadFeatures(data, settings, cacheDir);
      assert.strictEqual(fourth.cached, true);
      fourth.extractor.dispose();
    });

    it('changes the key with any setting or any byte of the data', () => {
      const base = resolveFeatureSettings({});
      const key = featureCacheKey(data, base);
      assert.match(key, /^[0-9a-f]{64}$/);
      assert.strictEqual(featureCacheKey(data, resolveFeatureSettings({})), key);
      const variants: FeatureSettingsInput[] = [
        { seed: 1 },
        { steps: 601 },
        { temperature: 0.3 },
        { augment: { hue: 0.2 } },
        { kind: 'pixels' },
      ];
      for (const v of variants) {
        assert.notStrictEqual(
          featureCacheKey(data, resolveFeatureSettings(v)),
          key,
          JSON.stringify(v),
        );
      }
      const images = data.images.slice();
      images[1000] = images[1000]! + 1e-3;
      assert.notStrictEqual(featureCacheKey({ ...data, images }, base), key);
      const fewer = { ...data, count: 255, images: data.images.subarray(0, 255 * 32 * 32 * 3) };
      assert.notStrictEqual(featureCacheKey(fewer, base), key);
      // The same bytes seen as another shape are other data.
      assert.notStrictEqual(featureCacheKey({ ...data, height: 16, width: 64 }, base), key);
    });
  });

  describe('pixel features and PCA', () => {
    /** n samples in d dims spanned by `rank` orthonormal directions with known variances. */
    function lowRank(n: number, d: number, std: number[], noise: number): Float32Array {
      const rng = new Rng(21);
      const basis = Float64Array.from(rng.normals(d * std.length));
      // Gram–Schmidt on the directions (rows of `basis`).
      for (let j = 0; j < std.length; j++) {
        const row = basis.subarray(j * d, (j + 1) * d);
        for (let i = 0; i < j; i++) {
          const prev = basis.subarray(i * d, (i + 1) * d);
          const dot = row.reduce((s, v, c) => s + v * prev[c]!, 0);
          for (let c = 0; c < d; c++) row[c]! -= dot * prev[c]!;
        }
        const len = Math.hypot(...row);
        for (let c = 0; c < d; c++) row[c]! /= len;
      }
      const x = new Float32Array(n * d);
      for (let i = 0; i < n; i++) {
        for (let c = 0; c < d; c++) x[i * d + c] = 0.2 + noise * rng.normal();
        std.forEach((s, j) => {
          const score = s * rng.normal();
          for (let c = 0; c < d; c++) x[i * d + c]! += score * basis[j * d + c]!;
        });
      }
      return x;
    }

    /** Top eigenpairs of the sample covariance by power iteration with deflation (Float64). */
    function directEigen(x: Float32Array, n: number, d: number, k: number) {
      const mean = new Float64Array(d);
      for (let i = 0; i < n; i++) for (let c = 0; c < d; c++) mean[c]! += x[i * d + c]! / n;
      const cov = new Float64Array(d * d);
      for (let i = 0; i < n; i++) {
        for (let a = 0; a < d; a++) {
          const va = x[i * d + a]! - mean[a]!;
          for (let b = 0; b < d; b++)
            cov[a * d + b]! += (va * (x[i * d + b]! - mean[b]!)) / (n - 1);
        }
      }
      let trace = 0;
      for (let a = 0; a < d; a++) trace += cov[a * d + a]!;
      const values: number[] = [];
      const vectors: Float64Array[] = [];
      for (let j = 0; j < k; j++) {
        let v = Float64Array.from({ length: d }, (_, c) => Math.sin(c + j + 1));
        let lambda = 0;
        for (let it = 0; it < 2000; it++) {
          const w = new Float64Array(d);
          for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) w[a]! += cov[a * d + b]! * v[b]!;
          lambda = Math.hypot(...w);
          v = w.map((e) => e / lambda);
        }
        values.push(lambda);
        vectors.push(v);
        for (let a = 0; a < d; a++)
          for (let b = 0; b < d; b++) cov[a * d + b]! -= lambda * v[a]! * v[b]!;
      }
      return { values, vectors, trace };
    }

    it('recovers the top components and their variances on low-rank data', async () => {
      const n = 400;
      const d = 48;
      const std = [4, 3, 2, 1, 0.5];
      const x = lowRank(n, d, std, 1e-3);
      const pca = await fitPca(x, n, d, 5, { iterations: 4, rng: new Rng(1) });
      const direct = directEigen(x, n, d, 5);
      for (let j = 0; j < 5; j++) {
        const rel = Math.abs(pca.variances[j]! - direct.values[j]!) / direct.values[j]!;
        assert.ok(rel < 1e-4, `variance ${j}: ${pca.variances[j]} vs ${direct.values[j]}`);
        let dot = 0;
        for (let c = 0; c < d; c++) dot += pca.components[c * 5 + j]! * direct.vectors[j]![c]!;
        assert.ok(Math.abs(Math.abs(dot) - 1) < 1e-4, `component ${j}: |cos| ${Math.abs(dot)}`);
      }
      assert.ok(Math.abs(pca.totalVariance - direct.trace) / direct.trace < 1e-5);
      const kept = pca.variances.reduce((a, b) => a + b, 0) / pca.totalVariance;
      assert.ok(kept > 0.999, `explained ratio ${kept}`);
      // The same seed gives the same components; signs are fixed, not left to chance.
      const again = await fitPca(x, n, d, 5, { iterations: 4, rng: new Rng(1) });
      assert.deepStrictEqual(again.components, pca.components);
      const otherSeed = await fitPca(x, n, d, 5, { iterations: 4, rng: new Rng(2) });
      for (let i = 0; i < otherSeed.components.length; i++) {
        assert.ok(Math.abs(otherSeed.components[i]! - pca.components[i]!) < 1e-3);
      }
    });

    it('PCA pixel features on image data: unit rows, most of the variance kept', async () => {
      const pixels = (await fit(data, { kind: 'pixels', pcaDim: 32 })) as PixelExtractor;
      assert.strictEqual(pixels.dim, 32);
      assertUnitRows(await pixels.embed(data.images, data.count), data.count, 32);
      const ev = pixels.explainedVariance();
      assert.ok(ev !== null);
      const kept = ev.variances.reduce((a, b) => a + b, 0) / ev.totalVariance;
      assert.ok(kept > 0.5 && kept <= 1 + 1e-6, `kept ${kept}`);
      for (let j = 1; j < 32; j++) assert.ok(ev.variances[j]! <= ev.variances[j - 1]! * (1 + 1e-6));
      pixels.dispose();
      const raw = await fit(data, { kind: 'pixels' });
      assert.strictEqual(raw.dim, 32 * 32 * 3);
      assertUnitRows(await raw.embed(data.images, data.count), data.count, raw.dim);
      raw.dispose();
    });

    it('refuses more components than the data can give', async () => {
      const tiny = createShapesDataset({ source: 'shapes', count: 10, resolution: 8, seed: 1 });
      await assert.rejects(
        fit(tiny, { kind: 'pixels', pcaDim: 10 }),
        (err: unknown) => err instanceof UserError && /features\.pcaDim/.test(err.message),
      );
    });
  });

  it('rejects an unknown kind and bad numbers with a message naming the setting', () => {
    const bad: [unknown, RegExp][] = [
      [{ kind: 'resnet' }, /features\.kind/],
      [{ steps: -1 }, /features\.steps/],
      [{ temperature: 0 }, /features\.temperature/],
      [{ kind: 'pixels', pcaDim: 1.5 }, /features\.pcaDim/],
    ];
    for (const [input, message] of bad) {
      assert.throws(
        () => resolveFeatureSettings(input as FeatureSettingsInput),
        (err: unknown) => err instanceof UserError && message.test(err.message),
      );
    }
  });
});
