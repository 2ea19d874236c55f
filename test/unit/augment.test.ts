import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend/backendChain';
import { gatherBatch } from '../../src/core/data/batch';
import { createShapesDataset } from '../../src/core/data/shapesDataset';
import { UserError } from '../../src/core/errors';
import { augmentBatch, sampleAugmentParams } from '../../src/core/features/augment';
import {
  DEFAULT_AUGMENT,
  resolveFeatureSettings,
  type AugmentSettings,
} from '../../src/core/features/featureSettings';
import { Rng } from '../../src/core/random/rng';
import {
  registerWasmAugmentKernels,
  unregisterWasmAugmentKernels,
} from '../../src/core/backend/wasmAugmentKernels';
import { threaded } from '../support/kernelChecks';

/** Crop, flip and colour all switched off: the identity view. */
const IDENTITY: AugmentSettings = {
  ...DEFAULT_AUGMENT,
  cropScaleMin: 1,
  cropScaleMax: 1,
  cropMaxAspect: 1,
  flipProbability: 0,
  jitterProbability: 0,
  greyscaleProbability: 0,
};

function augmentArray(
  images: tf.Tensor4D,
  seed: number,
  settings: AugmentSettings,
): { data: Float32Array; shape: number[] } {
  const out = augmentBatch(images, new Rng(seed), settings);
  try {
    return { data: out.dataSync() as Float32Array, shape: [...out.shape] };
  } finally {
    out.dispose();
  }
}

/** One image, h × w × 1, whose value is a ramp along x: easy to tell a flip or a crop. */
function rampImage(h: number, w: number): tf.Tensor4D {
  const data = new Float32Array(h * w);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[y * w + x] = -1 + (2 * x) / (w - 1);
  return tf.tensor4d(data, [1, h, w, 1]);
}

describe('contrastive augmentations', function () {
  let batch: tf.Tensor4D;
  let startTensors: number;

  before(async () => {
    await initBackend('wasm');
    startTensors = tf.memory().numTensors;
    const data = createShapesDataset({ source: 'shapes', count: 16, resolution: 16, seed: 4 });
    batch = gatherBatch(data, [...Array(16).keys()]);
  });

  after(() => {
    batch.dispose();
    assert.strictEqual(tf.memory().numTensors, startTensors, 'tensors leaked');
  });

  it('is deterministic for a seed and differs between seeds', () => {
    const a = augmentArray(batch, 7, DEFAULT_AUGMENT);
    const b = augmentArray(batch, 7, DEFAULT_AUGMENT);
    const c = augmentArray(batch, 8, DEFAULT_AUGMENT);
    assert.deepStrictEqual(a.data, b.data);
    assert.notDeepStrictEqual(a.data, c.data);
  });

  it('keeps the batch shape and stays within [-1, 1]', () => {
    const strong: AugmentSettings = { ...DEFAULT_AUGMENT, cropScaleMin: 0.1, cropScaleMax: 2 };
    for (const settings of [DEFAULT_AUGMENT, strong]) {
      const { data, shape } = augmentArray(batch, 3, settings);
      assert.deepStrictEqual(shape, batch.shape);
      for (const v of data) assert.ok(Number.isFinite(v) && v >= -1 && v <= 1, `value ${v}`);
    }
    const grey = tf.tidy(() => tf.mean(batch, 3, true)) as tf.Tensor4D;
    const { shape } = augmentArray(grey, 3, DEFAULT_AUGMENT);
    grey.dispose();
    assert.deepStrictEqual(shape, [16, 16, 16, 1]);
  });

  it('the identity settings give the images back', () => {
    const { data } = augmentArray(batch, 1, IDENTITY);
    const original = batch.dataSync();
    for (let i = 0; i < data.length; i++) assert.ok(Math.abs(data[i]! - original[i]!) < 1e-5);
  });

  it('a flip mirrors every row exactly', () => {
    const { data } = augmentArray(batch, 1, { ...IDENTITY, flipProbability: 1 });
    const original = batch.dataSync();
    const [n, h, w, c] = batch.shape;
    for (let i = 0; i < n; i++) {
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          for (let k = 0; k < c; k++) {
            const at = (xx: number): number => ((i * h + y) * w + xx) * c + k;
            assert.ok(Math.abs(data[at(x)]! - original[at(w - 1 - x)]!) < 1e-5);
          }
        }
      }
    }
  });

  it('a crop keeps the resolution and shows part of the image enlarged', () => {
    const ramp = rampImage(8, 12);
    const crop: AugmentSettings = { ...IDENTITY, cropScaleMin: 0.3, cropScaleMax: 0.5 };
    const { data, shape } = augmentArray(ramp, 2, crop);
    ramp.dispose();
    assert.deepStrictEqual(shape, [1, 8, 12, 1]);
    // Each row is the same increasing ramp over a sub-range of x: a crop resized back.
    const row = data.subarray(0, 12);
    for (let x = 1; x < 12; x++) assert.ok(row[x]! > row[x - 1]!);
    assert.ok(row[0]! > -1 + 1e-3 || row[11]! < 1 - 1e-3, 'the crop covers less than the image');
    assert.ok(row[11]! - row[0]! < 2 * Math.sqrt(0.5) + 1e-4, 'the crop spans at most √0.5');
  });

  it('a zoomed-out view fills its border by reflection, not with a constant', () => {
    const flat = tf.fill([2, 8, 8, 3], 0.3) as tf.Tensor4D;
    const zoom: AugmentSettings = { ...IDENTITY, cropScaleMin: 2, cropScaleMax: 2 };
    const { data } = augmentArray(flat, 5, zoom);
    flat.dispose();
    for (const v of data) assert.ok(Math.abs(v - 0.3) < 1e-5);

    const ramp = rampImage(6, 6);
    const out = augmentArray(ramp, 5, zoom).data;
    ramp.dispose();
    // The ramp and its mirror image: values stay in range and the row is no longer monotonic.
    const row = out.subarray(0, 6);
    for (const v of row) assert.ok(v >= -1 - 1e-6 && v <= 1 + 1e-6);
    const rising = row.every((v, x) => x === 0 || v >= row[x - 1]!);
    const falling = row.every((v, x) => x === 0 || v <= row[x - 1]!);
    assert.ok(!rising && !falling, `row ${Array.from(row)}`);
  });

  // On wasm the crop is one kernel of ours (crop_resize_reflect) instead of MirrorPad +
  // CropAndResize: the same views bit for bit, on one thread and split.
  for (const [name, settings, shape] of [
    ['the default views', DEFAULT_AUGMENT, [16, 16, 16, 3]],
    [
      'zoomed out to 1.7× (mirror padding), flips',
      { ...DEFAULT_AUGMENT, cropScaleMin: 0.6, cropScaleMax: 1.7, flipProbability: 0.5 },
      [9, 13, 11, 3],
    ],
    [
      'zoomed out, grey images',
      { ...DEFAULT_AUGMENT, cropScaleMin: 1.2, cropScaleMax: 2 },
      [5, 7, 7, 1],
    ],
    [
      'small crops',
      { ...DEFAULT_AUGMENT, cropScaleMin: 0.08, cropScaleMax: 0.3, cropMaxAspect: 3 },
      [6, 32, 32, 3],
    ],
  ] as [string, AugmentSettings, [number, number, number, number]][]) {
    it(`${name} [${shape}]: the crop kernel gives MirrorPad + CropAndResize's views`, () => {
      const images = tf.randomUniform(shape, -1, 1, 'float32', 3) as tf.Tensor4D;
      const before = tf.memory().numTensors;
      const views = (register: boolean) => {
        if (register) registerWasmAugmentKernels();
        else unregisterWasmAugmentKernels();
        try {
          return Array.from(augmentArray(images, 11, settings).data);
        } finally {
          registerWasmAugmentKernels();
        }
      };
      const stock = views(false);
      const single = threaded(Infinity, () => views(true));
      const split = threaded(0, () => views(true));
      assert.strictEqual(tf.memory().numTensors, before, 'tensors leaked');
      images.dispose();
      for (const [which, got] of [
        ['one thread', single],
        ['split', split],
      ] as const) {
        const at = got.findIndex((v, i) => !Object.is(v, stock[i]));
        assert.strictEqual(at, -1, `${which}: element ${at} is ${got[at]}, stock ${stock[at]}`);
      }
    });
  }

  it('colour jitter keeps grey pixels grey, and greyscale makes every pixel grey', () => {
    const greyRgb = tf.tidy(() => tf.tile(tf.mean(batch, 3, true), [1, 1, 1, 3])) as tf.Tensor4D;
    const jitter: AugmentSettings = { ...IDENTITY, jitterProbability: 1 };
    const a = augmentArray(greyRgb, 9, jitter).data;
    greyRgb.dispose();
    const b = augmentArray(batch, 9, { ...IDENTITY, greyscaleProbability: 1 }).data;
    for (const data of [a, b]) {
      for (let p = 0; p < data.length; p += 3) {
        assert.ok(
          Math.abs(data[p]! - data[p + 1]!) < 1e-5 && Math.abs(data[p]! - data[p + 2]!) < 1e-5,
        );
      }
    }
    // Jitter does change colourful images.
    const c = augmentArray(batch, 9, jitter).data;
    const original = batch.dataSync();
    assert.ok(c.some((v, i) => Math.abs(v - original[i]!) > 0.1));
  });

  it('draws a fixed number of random values per image, whatever the probabilities', () => {
    const a = new Rng(11);
    const b = new Rng(11);
    sampleAugmentParams(5, 3, a, DEFAULT_AUGMENT);
    sampleAugmentParams(5, 1, b, { ...IDENTITY, flipProbability: 1, greyscaleProbability: 1 });
    assert.deepStrictEqual(a.getState(), b.getState());
  });

  it('rejects bad augmentation settings with a message naming the setting', () => {
    const bad: [Partial<AugmentSettings>, RegExp][] = [
      [{ cropScaleMin: 0.9, cropScaleMax: 0.5 }, /cropScaleMin/],
      [{ cropScaleMax: 3 }, /augment\.cropScaleMax/],
      [{ hue: 0.7 }, /augment\.hue/],
      [{ flipProbability: -0.1 }, /augment\.flipProbability/],
      [{ cropMaxAspect: 0.5 }, /augment\.cropMaxAspect/],
    ];
    for (const [augment, message] of bad) {
      assert.throws(
        () => resolveFeatureSettings({ augment }),
        (err: unknown) => err instanceof UserError && message.test(err.message),
      );
    }
  });
});
