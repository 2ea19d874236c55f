import * as assert from 'assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../../src/core/backend/backendChain';
import type { ImageDataset } from '../../src/core/data/dataset';
import { UserError } from '../../src/core/errors';
import { EXTRACTOR_FILE } from '../../src/core/features/extractorFile';
import { computeOrLoadFeatures, featureCacheKey } from '../../src/core/features/featureCache';
import {
  fitFeatureExtractor,
  loadFeatureExtractor,
  type FeatureExtractor,
} from '../../src/core/features/featureExtractor';
import {
  resolveFeatureSettings,
  type FeatureSettingsInput,
  type ModelSettings,
} from '../../src/core/features/featureSettings';
import { MODEL_COPY_DIR, MODEL_FILES_LIST, MODEL_JSON } from '../../src/core/features/modelFiles';
import { Rng } from '../../src/core/random/rng';
import { saveLayersModel } from '../support/saveLayersModel';
import { makeTempDir } from './support/tempDir';

/** Images in [-1, 1], as every data source delivers them. */
function randomData(count: number, size: number, channels: 1 | 3, seed: number): ImageDataset {
  const rng = new Rng(seed);
  const images = Float32Array.from(
    { length: count * size * size * channels },
    () => rng.uniform() * 2 - 1,
  );
  return {
    source: 'shapes',
    description: `${count} random ${size}×${size}×${channels} images`,
    count,
    height: size,
    width: size,
    channels,
    images,
    skipped: [],
  };
}

/** conv → relu → global average pool 'pool' → dense 'logits'; `shape` null entries stay free. */
function tinyModel(shape: (number | null)[], seed: number): tfl.LayersModel {
  const input = tfl.input({ shape });
  const conv = tfl.layers
    .conv2d({
      filters: 6,
      kernelSize: 3,
      activation: 'relu',
      name: 'conv',
      kernelInitializer: tfl.initializers.glorotUniform({ seed }),
      biasInitializer: tfl.initializers.randomUniform({ minval: 0, maxval: 0.5, seed }),
    })
    .apply(input) as tfl.SymbolicTensor;
  const pool = tfl.layers
    .globalAveragePooling2d({ name: 'pool' })
    .apply(conv) as tfl.SymbolicTensor;
  const logits = tfl.layers.dense({ units: 3, name: 'logits' }).apply(pool) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: logits });
}

/** What tfjs-layers itself gives at `layer` for images already in the model's input range. */
function reference(model: tfl.LayersModel, layer: string, x: tf.Tensor4D): Float32Array {
  const sub = tfl.model({
    inputs: model.inputs,
    outputs: model.getLayer(layer).output as tfl.SymbolicTensor,
  });
  const y = sub.predict(x) as tf.Tensor2D;
  const [n, d] = y.shape;
  const out = normaliseRows(y.dataSync() as Float32Array, n, d);
  y.dispose();
  // The sub-model shares the layers' weights: disposing it would free them under `model`.
  return out;
}

function normaliseRows(f: Float32Array, n: number, d: number): Float32Array {
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    let sq = 0;
    for (let c = 0; c < d; c++) sq += f[i * d + c]! ** 2;
    for (let c = 0; c < d; c++) out[i * d + c] = f[i * d + c]! / Math.sqrt(sq);
  }
  return out;
}

function assertClose(a: Float32Array, b: Float32Array, tol: number): void {
  assert.strictEqual(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  assert.ok(worst < tol, `max difference ${worst}`);
}

function assertUnitRows(f: Float32Array, n: number, d: number): void {
  assert.strictEqual(f.length, n * d);
  for (let i = 0; i < n; i++) {
    let sq = 0;
    for (let c = 0; c < d; c++) sq += f[i * d + c]! ** 2;
    assert.ok(Math.abs(Math.sqrt(sq) - 1) < 1e-5, `row ${i} has norm ${Math.sqrt(sq)}`);
  }
}

function userError(pattern: RegExp): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof UserError, `expected a UserError, got ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  };
}

function imagesTensor(data: ImageDataset): tf.Tensor4D {
  return tf.tensor4d(data.images, [data.count, data.height, data.width, data.channels]);
}

/**
 * A graph model written by hand (what the converter emits for a frozen TF graph):
 * input [-1, 8, 8, 1] → Conv2D 3×3×1×4 'SAME' → Relu 'relu' → Reshape → MatMul 'logits'.
 */
function writeGraphModel(dir: string): { kernel: Float32Array } {
  const dims = (...d: number[]): { dim: { size: string }[] } => ({
    dim: d.map((s) => ({ size: String(s) })),
  });
  const str = (s: string): { s: string } => ({ s: Buffer.from(s).toString('base64') });
  const float = { type: 'DT_FLOAT' };
  const ones = { list: { i: ['1', '1', '1', '1'] } };
  const constant = (name: string, dtype: string, ...shape: number[]): object => ({
    name,
    op: 'Const',
    attr: { dtype: { type: dtype }, value: { tensor: { dtype, tensorShape: dims(...shape) } } },
  });
  const json = {
    format: 'graph-model',
    generatedBy: 'hand-written for modelFeatures.test.ts',
    modelTopology: {
      node: [
        {
          name: 'image',
          op: 'Placeholder',
          attr: { dtype: float, shape: { shape: dims(-1, 8, 8, 1) } },
        },
        constant('conv/kernel', 'DT_FLOAT', 3, 3, 1, 4),
        {
          name: 'conv',
          op: 'Conv2D',
          input: ['image', 'conv/kernel'],
          attr: {
            T: float,
            strides: ones,
            dilations: ones,
            padding: str('SAME'),
            data_format: str('NHWC'),
          },
        },
        { name: 'relu', op: 'Relu', input: ['conv'], attr: { T: float } },
        constant('flat/shape', 'DT_INT32', 2),
        { name: 'flat', op: 'Reshape', input: ['relu', 'flat/shape'], attr: { T: float } },
        constant('dense/kernel', 'DT_FLOAT', 256, 3),
        {
          name: 'logits',
          op: 'MatMul',
          input: ['flat', 'dense/kernel'],
          attr: { T: float, transpose_a: { b: false }, transpose_b: { b: false } },
        },
      ],
      versions: { producer: 1 },
    },
    weightsManifest: [
      {
        paths: ['group1-shard1of1.bin'],
        weights: [
          { name: 'conv/kernel', shape: [3, 3, 1, 4], dtype: 'float32' },
          { name: 'flat/shape', shape: [2], dtype: 'int32' },
          { name: 'dense/kernel', shape: [256, 3], dtype: 'float32' },
        ],
      },
    ],
  };
  const kernel = Float32Array.from({ length: 36 }, (_, i) => Math.sin(i + 1));
  const dense = Float32Array.from({ length: 768 }, (_, i) => Math.cos(i));
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, MODEL_JSON), JSON.stringify(json));
  fs.writeFileSync(
    path.join(dir, 'group1-shard1of1.bin'),
    Buffer.concat([kernel, Int32Array.of(-1, 256), dense].map((a) => Buffer.from(a.buffer))),
  );
  return { kernel };
}

describe('model features (a user-supplied TF.js model)', function () {
  const temp = makeTempDir('model-features');
  const layersDir = path.join(temp.dir, 'layers-model');
  let model: tfl.LayersModel;
  let data: ImageDataset;
  let startTensors: number;

  const settingsFor = (extra: Partial<FeatureSettingsInput> = {}): ModelSettings =>
    resolveFeatureSettings({
      kind: 'model',
      path: layersDir,
      layer: 'pool',
      ...extra,
    } as FeatureSettingsInput) as ModelSettings;

  before(async () => {
    await initBackend('wasm');
    startTensors = tf.memory().numTensors;
    model = tinyModel([8, 8, 3], 1);
    await saveLayersModel(model, layersDir);
    data = randomData(300, 8, 3, 5);
  });

  after(() => {
    model.dispose();
    temp.cleanup();
    assert.strictEqual(tf.memory().numTensors, startTensors, 'tensors leaked');
  });

  describe('layers model', () => {
    it('gives the L2-normalised output of the named layer, as unit rows', async () => {
      const s = settingsFor();
      assert.strictEqual(s.inputRange, '[0,1]');
      assert.strictEqual(s.pooling, 'avg');
      assert.match(s.modelHash, /^[0-9a-f]{64}$/);
      const lines: string[] = [];
      const extractor = await fitFeatureExtractor(data, s, (l) => lines.push(l));
      try {
        assert.strictEqual(extractor.kind, 'model');
        assert.strictEqual(extractor.dim, 6);
        assert.deepStrictEqual(extractor.input, { height: 8, width: 8, channels: 3 });
        assert.ok(lines.some((l) => l.includes("layer 'pool'") && l.includes('6 dimensions')));
        // 300 images: more than one embedding batch.
        const features = await extractor.embed(data.images, data.count);
        assertUnitRows(features, data.count, 6);
        const inRange = tf.tidy(() => tf.mul(tf.add(imagesTensor(data), 1), 0.5) as tf.Tensor4D);
        assertClose(features, reference(model, 'pool', inRange), 1e-5);
        inRange.dispose();
      } finally {
        extractor.dispose();
      }
    });

    it('resizes, repeats grey to RGB, rescales and normalises as configured', async () => {
      const grey = randomData(20, 16, 1, 6);
      const mean = [100, 120, 140];
      const std = [50, 60, 70];
      const extractor = await fitFeatureExtractor(
        grey,
        settingsFor({ inputRange: '[0,255]', mean, std }),
      );
      try {
        assert.deepStrictEqual(extractor.input, { height: 16, width: 16, channels: 1 });
        const features = await extractor.embed(grey.images, grey.count);
        // 16 → 8 is a whole factor: 2×2 area averages, then the same pixel in all three channels.
        const x = tf.tidy(() => {
          const small = tf.avgPool(imagesTensor(grey), 2, 2, 'valid');
          const rgb = tf.concat([small, small, small], 3);
          return tf.div(tf.sub(tf.mul(tf.add(rgb, 1), 127.5), mean), std) as tf.Tensor4D;
        });
        assertClose(features, reference(model, 'pool', x), 1e-5);
        x.dispose();
      } finally {
        extractor.dispose();
      }
    });

    it('flattens or averages a spatial output', async () => {
      const few = randomData(4, 8, 3, 7);
      const avg = await fitFeatureExtractor(few, settingsFor({ layer: 'conv' }));
      const flat = await fitFeatureExtractor(
        few,
        settingsFor({ layer: 'conv', pooling: 'flatten' }),
      );
      try {
        assert.strictEqual(avg.dim, 6);
        assert.strictEqual(flat.dim, 6 * 6 * 6);
        // Averaging the conv map over space is what the 'pool' layer does.
        const pooled = await fitFeatureExtractor(few, settingsFor());
        assertClose(await avg.embed(few.images, 4), await pooled.embed(few.images, 4), 1e-5);
        pooled.dispose();
        assertUnitRows(await flat.embed(few.images, 4), 4, flat.dim);
      } finally {
        avg.dispose();
        flat.dispose();
      }
    });

    it('saves a self-contained copy that loads to identical features', async () => {
      const extractor = await fitFeatureExtractor(data, settingsFor());
      const dir = path.join(temp.dir, 'saved');
      try {
        await extractor.save(dir);
        const features = await extractor.embed(data.images, data.count);
        // Moving the original away proves the copy is what loads.
        fs.renameSync(layersDir, `${layersDir}.away`);
        let loaded: FeatureExtractor | undefined;
        try {
          loaded = await loadFeatureExtractor(dir);
          assert.strictEqual(loaded.kind, 'model');
          assert.strictEqual(loaded.dim, extractor.dim);
          assert.deepStrictEqual(loaded.input, extractor.input);
          assert.deepStrictEqual(await loaded.embed(data.images, data.count), features);
        } finally {
          loaded?.dispose();
          fs.renameSync(`${layersDir}.away`, layersDir);
        }
        for (const f of [EXTRACTOR_FILE, MODEL_FILES_LIST, MODEL_COPY_DIR]) {
          assert.ok(fs.existsSync(path.join(dir, f)), f);
        }
        assert.deepStrictEqual(fs.readdirSync(path.join(dir, MODEL_COPY_DIR)).sort(), [
          MODEL_JSON,
          'weights.bin',
        ]);
      } finally {
        extractor.dispose();
      }
    });

    it('rejects a saved copy whose model files were modified', async () => {
      const extractor = await fitFeatureExtractor(data, settingsFor());
      const dir = path.join(temp.dir, 'tampered');
      await extractor.save(dir);
      extractor.dispose();
      const weights = path.join(dir, MODEL_COPY_DIR, 'weights.bin');
      const original = fs.readFileSync(weights);
      const changed = Buffer.from(original);
      changed[8] = changed[8]! ^ 0x40;
      fs.writeFileSync(weights, changed);
      await assert.rejects(
        loadFeatureExtractor(dir),
        userError(/model\/weights\.bin was modified or damaged/),
      );
      // Even with the list of hashes rewritten to match, the checksummed settings refuse it.
      const list = JSON.parse(fs.readFileSync(path.join(dir, MODEL_FILES_LIST), 'utf8')) as {
        files: { name: string; sha256: string }[];
      };
      const entry = list.files.find((f) => f.name === 'weights.bin')!;
      entry.sha256 = (await import('node:crypto'))
        .createHash('sha256')
        .update(changed)
        .digest('hex');
      fs.writeFileSync(path.join(dir, MODEL_FILES_LIST), JSON.stringify(list));
      await assert.rejects(loadFeatureExtractor(dir), userError(/do not match/));
      fs.writeFileSync(weights, original);
      fs.rmSync(path.join(dir, MODEL_COPY_DIR, MODEL_JSON));
      await assert.rejects(
        loadFeatureExtractor(dir),
        userError(/has no model\.json|does not exist/),
      );
    });

    it('names the valid layers when the layer is unknown', async () => {
      await assert.rejects(
        fitFeatureExtractor(data, settingsFor({ layer: 'pooling' })),
        userError(/features\.layer: .*no layer 'pooling'.*'conv', 'pool', 'logits'/),
      );
    });

    it('reports a missing or broken model as a UserError naming the file', () => {
      const missing = path.join(temp.dir, 'no-such-model');
      assert.throws(
        () => settingsFor({ path: missing }),
        userError(/features\.path: .*no-such-model does not exist/),
      );
      const empty = path.join(temp.dir, 'empty');
      fs.mkdirSync(empty);
      assert.throws(() => settingsFor({ path: empty }), userError(/empty has no model\.json/));
      const broken = path.join(temp.dir, 'broken');
      fs.mkdirSync(broken);
      fs.writeFileSync(path.join(broken, MODEL_JSON), '{"modelTopology": ');
      assert.throws(
        () => settingsFor({ path: broken }),
        userError(/broken\/model\.json is not valid JSON/),
      );
      fs.writeFileSync(path.join(broken, MODEL_JSON), '{"weightsManifest": []}');
      assert.throws(
        () => settingsFor({ path: broken }),
        userError(/not a TensorFlow\.js model\.json \(no modelTopology\)/),
      );
      const noWeights = path.join(temp.dir, 'no-weights');
      fs.mkdirSync(noWeights);
      fs.copyFileSync(path.join(layersDir, MODEL_JSON), path.join(noWeights, MODEL_JSON));
      assert.throws(
        () => settingsFor({ path: noWeights }),
        userError(/weight file weights\.bin of .*is missing/),
      );
      const escaping = path.join(temp.dir, 'escaping');
      fs.mkdirSync(escaping);
      const json = JSON.parse(
        fs.readFileSync(path.join(layersDir, MODEL_JSON), 'utf8'),
      ) as tf.io.ModelJSON;
      json.weightsManifest[0]!.paths = ['../layers-model/weights.bin'];
      fs.writeFileSync(path.join(escaping, MODEL_JSON), JSON.stringify(json));
      assert.throws(
        () => settingsFor({ path: escaping }),
        userError(/not inside the model's folder/),
      );
      // A model.json given by its file name works like its folder.
      assert.strictEqual(
        settingsFor({ path: path.join(layersDir, MODEL_JSON) }).modelHash,
        settingsFor().modelHash,
      );
    });

    it('checks the settings', () => {
      const cases: [FeatureSettingsInput, RegExp][] = [
        [{ kind: 'model', layer: 'pool' }, /features\.path: required/],
        [{ kind: 'model', path: layersDir }, /features\.layer: required/],
        [
          {
            kind: 'model',
            path: layersDir,
            layer: 'pool',
            inputRange: '0-1',
          } as unknown as FeatureSettingsInput,
          /features\.inputRange/,
        ],
        [{ kind: 'model', path: layersDir, layer: 'pool', mean: [0.5, 0.5] }, /features\.mean/],
        [{ kind: 'model', path: layersDir, layer: 'pool', std: [1, 0, 1] }, /features\.std/],
        [{ kind: 'model', path: layersDir, layer: 'pool', inputSize: -1 }, /features\.inputSize/],
        [
          {
            kind: 'model',
            path: layersDir,
            layer: 'pool',
            pooling: 'max',
          } as unknown as FeatureSettingsInput,
          /features\.pooling/,
        ],
        [
          { kind: 'model', path: layersDir, layer: 'pool', modelHash: 'abc' },
          /features\.modelHash/,
        ],
      ];
      for (const [input, message] of cases)
        assert.throws(() => resolveFeatureSettings(input), userError(message));
      // Resolved settings resolve to themselves without reading the model again.
      const s = settingsFor();
      assert.deepStrictEqual(resolveFeatureSettings({ ...s, path: path.join(temp.dir, 'gone') }), {
        ...s,
        path: path.join(temp.dir, 'gone'),
      });
    });

    it('checks the data against the model input', async () => {
      const small = randomData(4, 4, 3, 8);
      const mean3 = settingsFor({ mean: [0.1, 0.2, 0.3] });
      await assert.rejects(
        fitFeatureExtractor(randomData(4, 8, 3, 8), settingsFor({ inputSize: 16 })),
        userError(/features\.inputSize: 16, but the model .* takes 8×8 images/),
      );
      // Upsampling 4×4 data to the model's 8×8 is allowed.
      const up = await fitFeatureExtractor(small, mean3);
      assertUnitRows(await up.embed(small.images, 4), 4, up.dim);
      up.dispose();

      const greyDir = path.join(temp.dir, 'grey-model');
      const greyModel = tinyModel([8, 8, 1], 2);
      await saveLayersModel(greyModel, greyDir);
      greyModel.dispose();
      const greySettings = resolveFeatureSettings({
        kind: 'model',
        path: greyDir,
        layer: 'pool',
        mean: [0.1, 0.2, 0.3],
      });
      await assert.rejects(
        fitFeatureExtractor(data, greySettings),
        userError(/takes 1-channel images, but the data has 3 channels/),
      );
      await assert.rejects(
        fitFeatureExtractor(randomData(4, 8, 1, 9), greySettings),
        userError(/features\.mean: 3 values, but the model takes 1-channel images/),
      );

      const freeDir = path.join(temp.dir, 'free-size-model');
      const free = tinyModel([null, null, 3], 3);
      await saveLayersModel(free, freeDir);
      const freeSettings = (inputSize: number): ModelSettings =>
        resolveFeatureSettings({
          kind: 'model',
          path: freeDir,
          layer: 'pool',
          inputSize,
        }) as ModelSettings;
      await assert.rejects(
        fitFeatureExtractor(data, freeSettings(0)),
        userError(/features\.inputSize: .* takes images of any size; set features\.inputSize/),
      );
      const sized = await fitFeatureExtractor(data, freeSettings(4));
      try {
        const x = tf.tidy(
          () =>
            tf.mul(tf.add(tf.avgPool(imagesTensor(data), 2, 2, 'valid'), 1), 0.5) as tf.Tensor4D,
        );
        assertClose(await sized.embed(data.images, data.count), reference(free, 'pool', x), 1e-5);
        x.dispose();
      } finally {
        sized.dispose();
        free.dispose();
      }
    });
  });

  describe('cache', () => {
    it('keys the features by the model files, not only the settings', async () => {
      const dir = path.join(temp.dir, 'changing-model');
      fs.cpSync(layersDir, dir, { recursive: true });
      const before = resolveFeatureSettings({
        kind: 'model',
        path: dir,
        layer: 'pool',
      }) as ModelSettings;
      const key = featureCacheKey(data, before);
      assert.strictEqual(
        featureCacheKey(data, resolveFeatureSettings({ kind: 'model', path: dir, layer: 'pool' })),
        key,
      );
      const cacheDir = path.join(temp.dir, 'cache');
      const first = await computeOrLoadFeatures(data, before, cacheDir);
      const second = await computeOrLoadFeatures(data, before, cacheDir);
      assert.strictEqual(first.cached, false);
      assert.strictEqual(second.cached, true);
      assert.deepStrictEqual(second.features, first.features);
      first.extractor.dispose();
      second.extractor.dispose();

      const other = tinyModel([8, 8, 3], 4);
      await saveLayersModel(other, dir);
      other.dispose();
      // Settings resolved before the change no longer match the files: refused, not mixed up.
      await assert.rejects(
        fitFeatureExtractor(data, before),
        userError(/changed after the settings were resolved/),
      );
      const after = resolveFeatureSettings({
        kind: 'model',
        path: dir,
        layer: 'pool',
      }) as ModelSettings;
      assert.notStrictEqual(after.modelHash, before.modelHash);
      assert.notStrictEqual(featureCacheKey(data, after), key);
      const third = await computeOrLoadFeatures(data, after, cacheDir);
      assert.strictEqual(third.cached, false);
      assert.notDeepStrictEqual(third.features, first.features);
      third.extractor.dispose();
    });
  });

  describe('graph model', () => {
    const graphDir = path.join(temp.dir, 'graph-model');
    let kernel: Float32Array;
    const grey = randomData(40, 8, 1, 10);

    before(() => {
      ({ kernel } = writeGraphModel(graphDir));
    });

    it('reads a node and saves and loads like a layers model', async () => {
      const s = resolveFeatureSettings({
        kind: 'model',
        path: graphDir,
        layer: 'relu',
        inputRange: '[-1,1]',
      });
      const extractor = await fitFeatureExtractor(grey, s);
      const dir = path.join(temp.dir, 'saved-graph');
      let loaded: FeatureExtractor | undefined;
      try {
        assert.strictEqual(extractor.dim, 4);
        const features = await extractor.embed(grey.images, grey.count);
        const expected = tf.tidy(() => {
          const k = tf.tensor4d(kernel, [3, 3, 1, 4]);
          return tf.mean(tf.relu(tf.conv2d(imagesTensor(grey), k, 1, 'same')), [1, 2]);
        });
        assertClose(
          features,
          normaliseRows(expected.dataSync() as Float32Array, grey.count, 4),
          1e-5,
        );
        expected.dispose();
        await extractor.save(dir);
        loaded = await loadFeatureExtractor(dir);
        assert.deepStrictEqual(await loaded.embed(grey.images, grey.count), features);
        const logits = await fitFeatureExtractor(
          grey,
          resolveFeatureSettings({ kind: 'model', path: graphDir, layer: 'logits:0' }),
        );
        assert.strictEqual(logits.dim, 3);
        logits.dispose();
      } finally {
        extractor.dispose();
        loaded?.dispose();
      }
    });

    it('names the valid nodes when the node is unknown', async () => {
      await assert.rejects(
        fitFeatureExtractor(
          grey,
          resolveFeatureSettings({ kind: 'model', path: graphDir, layer: 'relu1' }),
        ),
        userError(
          /features\.layer: .*no node 'relu1' \(nodes: 'image', 'conv\/kernel', 'conv', 'relu'/,
        ),
      );
      // A node that exists but gives no row per image fails when the model is first run.
      await assert.rejects(
        fitFeatureExtractor(
          grey,
          resolveFeatureSettings({ kind: 'model', path: graphDir, layer: 'flat/shape' }),
        ),
        userError(/fails on 8×8×1 images read at node 'flat\/shape' \(its output has rank 1/),
      );
    });
  });
});
