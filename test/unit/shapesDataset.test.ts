import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { gatherBatch, gatherLabels } from '../../src/core/data/batch';
import type { ImageDataset } from '../../src/core/data/dataset';
import {
  COLOUR_NAMES,
  createShapesDataset,
  createShapesDatasetWithAttributes,
  POSITION_NAMES,
  SHAPE_NAMES,
  SIZE_NAMES,
} from '../../src/core/data/shapesDataset';
import { isUserError } from '../../src/core/errors';

function shapes(count: number, resolution: number, seed: number): ImageDataset {
  return createShapesDataset({ source: 'shapes', count, resolution, seed });
}

function labelsOf(ds: ImageDataset): Int32Array {
  assert.ok(ds.labels, 'shapes data set must be labelled');
  return ds.labels;
}

/** Per-pixel saturation (max − min over RGB, in 0..1): high on the shape, low on backgrounds. */
function saturationMap(ds: ImageDataset, index: number): Float64Array {
  const pixels = ds.height * ds.width;
  const base = index * pixels * 3;
  const map = new Float64Array(pixels);
  for (let p = 0; p < pixels; p++) {
    const r = ds.images[base + p * 3] ?? 0;
    const g = ds.images[base + p * 3 + 1] ?? 0;
    const b = ds.images[base + p * 3 + 2] ?? 0;
    map[p] = (Math.max(r, g, b) - Math.min(r, g, b)) / 2;
  }
  return map;
}

const GRID = 8;

/**
 * The shape's silhouette, cropped to its bounding box and resampled to GRID×GRID, so position
 * and size no longer matter and only the outline is left to tell classes apart.
 */
function silhouette(ds: ImageDataset, index: number): Float64Array {
  const side = ds.width;
  const sat = saturationMap(ds, index);
  let x0 = side;
  let x1 = -1;
  let y0 = side;
  let y1 = -1;
  sat.forEach((value, p) => {
    if (value <= 0.5) return;
    const x = p % side;
    const y = Math.floor(p / side);
    x0 = Math.min(x0, x);
    x1 = Math.max(x1, x);
    y0 = Math.min(y0, y);
    y1 = Math.max(y1, y);
  });
  assert.ok(x1 >= x0, `image ${index} has no visible shape`);
  const out = new Float64Array(GRID * GRID);
  for (let gy = 0; gy < GRID; gy++) {
    for (let gx = 0; gx < GRID; gx++) {
      const y = Math.floor(y0 + ((gy + 0.5) * (y1 - y0 + 1)) / GRID);
      const x = Math.floor(x0 + ((gx + 0.5) * (x1 - x0 + 1)) / GRID);
      out[gy * GRID + gx] = sat[y * side + x] ?? 0;
    }
  }
  return out;
}

function classMeans(ds: ImageDataset): Float64Array[] {
  const labels = labelsOf(ds);
  const sums = SHAPE_NAMES.map(() => new Float64Array(GRID * GRID));
  const counts = SHAPE_NAMES.map(() => 0);
  for (let i = 0; i < ds.count; i++) {
    const label = labels[i] ?? -1;
    const sum = sums[label];
    assert.ok(sum, `label ${label} out of range`);
    silhouette(ds, i).forEach((v, j) => (sum[j] = (sum[j] ?? 0) + v));
    counts[label] = (counts[label] ?? 0) + 1;
  }
  return sums.map((sum, label) => sum.map((v) => v / (counts[label] ?? 1)));
}

function meanAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < a.length; i++) total += Math.abs((a[i] ?? 0) - (b[i] ?? 0));
  return total / a.length;
}

describe('shapes data set', () => {
  it('is deterministic for a seed and different for another seed', () => {
    const a = shapes(200, 16, 42);
    const b = shapes(200, 16, 42);
    const c = shapes(200, 16, 43);
    assert.deepEqual(a.images, b.images);
    assert.deepEqual(a.labels, b.labels);
    assert.ok(meanAbsDifference(a.images, c.images) > 0.05, 'another seed gives other images');
  });

  it('produces RGB values in [-1, 1] with the declared geometry', () => {
    const ds = shapes(300, 32, 1);
    assert.equal(ds.source, 'shapes');
    assert.equal(ds.channels, 3);
    assert.equal(ds.images.length, 300 * 32 * 32 * 3);
    assert.deepEqual(ds.classNames, ['circle', 'square', 'triangle', 'cross']);
    assert.deepEqual(ds.skipped, []);
    let min = Infinity;
    let max = -Infinity;
    for (const v of ds.images) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    assert.ok(min >= -1 && max <= 1, `range [${min}, ${max}]`);
    assert.ok(max - min > 1.5, 'uses most of the range');
  });

  it('covers every shape, colour, size and position in 2,000 images', () => {
    const { dataset, attributes, attributeNames } = createShapesDatasetWithAttributes({
      source: 'shapes',
      count: 2000,
      resolution: 16,
      seed: 5,
    });
    assert.equal(attributes.length, 2000);
    assert.deepEqual(attributeNames.colour, [...COLOUR_NAMES]);
    const labels = labelsOf(dataset);
    attributes.forEach((a, i) => assert.equal(a.shape, labels[i]));
    const distinct = (key: 'shape' | 'colour' | 'size' | 'position'): number =>
      new Set(attributes.map((a) => a[key])).size;
    assert.equal(distinct('shape'), SHAPE_NAMES.length);
    assert.equal(distinct('colour'), COLOUR_NAMES.length);
    assert.equal(distinct('size'), SIZE_NAMES.length);
    assert.equal(distinct('position'), POSITION_NAMES.length);
    assert.equal(new Set(labels).size, 4);
  });

  it('has per-class mean silhouettes that differ and tell shapes apart at 16 px', () => {
    const train = shapes(2000, 16, 1);
    const means = classMeans(train);
    for (let a = 0; a < means.length; a++) {
      for (let b = a + 1; b < means.length; b++) {
        const d = meanAbsDifference(means[a] ?? [], means[b] ?? []);
        assert.ok(d > 0.05, `${SHAPE_NAMES[a]} vs ${SHAPE_NAMES[b]}: mean difference ${d}`);
      }
    }
    // Nearest class mean on fresh images: far above chance (0.25) only if shapes are legible.
    const test = shapes(500, 16, 2);
    const labels = labelsOf(test);
    let correct = 0;
    for (let i = 0; i < test.count; i++) {
      const s = silhouette(test, i);
      const distances = means.map((m) => meanAbsDifference(m, s));
      if (distances.indexOf(Math.min(...distances)) === labels[i]) correct++;
    }
    assert.ok(correct / test.count > 0.85, `nearest-mean accuracy ${correct / test.count}`);
  });

  for (const resolution of [8, 16, 32, 64]) {
    it(`works at ${resolution} px`, () => {
      const ds = shapes(50, resolution, 3);
      assert.equal(ds.height, resolution);
      assert.equal(ds.width, resolution);
      assert.equal(ds.images.length, 50 * resolution * resolution * 3);
      assert.ok(ds.images.every((v) => v >= -1 && v <= 1 && !Number.isNaN(v)));
      for (let i = 0; i < ds.count; i++) silhouette(ds, i);
    });
  }

  it('rejects resolutions below 8 with a UserError', () => {
    assert.throws(
      () => shapes(10, 4, 1),
      (err: unknown) => isUserError(err) && /data\.resolution/.test(err.message),
    );
  });

  it('generates 10,000 images at 32 px quickly', () => {
    const start = performance.now();
    shapes(10_000, 32, 9);
    const ms = performance.now() - start;
    // The target is well under 2 s; the bound is loose so a busy CI machine does not flake.
    assert.ok(ms < 4000, `took ${ms.toFixed(0)} ms`);
  });
});

describe('gatherBatch / gatherLabels', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  it('copies the selected images and labels', () => {
    const ds = shapes(10, 8, 1);
    const size = 8 * 8 * 3;
    const batch = gatherBatch(ds, [3, 0, 3]);
    const labels = gatherLabels(ds, Int32Array.from([3, 0, 3]));
    try {
      assert.deepEqual(batch.shape, [3, 8, 8, 3]);
      const data = batch.dataSync();
      assert.deepEqual(data.slice(0, size), ds.images.slice(3 * size, 4 * size));
      assert.deepEqual(data.slice(size, 2 * size), ds.images.slice(0, size));
      assert.equal(labels.dtype, 'int32');
      const all = labelsOf(ds);
      assert.deepEqual(Array.from(labels.dataSync()), [all[3], all[0], all[3]]);
    } finally {
      batch.dispose();
      labels.dispose();
    }
  });

  it('rejects out-of-range indices', () => {
    const ds = shapes(4, 8, 1);
    assert.throws(() => gatherBatch(ds, [4]), RangeError);
    assert.throws(() => gatherLabels(ds, [-1]), RangeError);
  });
});
