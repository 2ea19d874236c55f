import * as assert from 'node:assert/strict';
import sharp from 'sharp';
import { tileGrid } from '../../src/core/image/imageGrid';
import { encodePng } from '../../src/core/image/pngEncode';

/** n images of h×w×c where every value of image i is `valueOf(i)`. */
function constantImages(
  n: number,
  h: number,
  w: number,
  c: number,
  valueOf: (i: number) => number,
) {
  const images = new Float32Array(n * h * w * c);
  for (let i = 0; i < n; i++) images.fill(valueOf(i), i * h * w * c, (i + 1) * h * w * c);
  return images;
}

async function decodePng(
  png: Buffer,
): Promise<{ data: Buffer; channels: number; width: number; height: number }> {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  return { data, channels: info.channels, width: info.width, height: info.height };
}

describe('tileGrid', () => {
  it('lays images out in rows with padding around and between them', () => {
    const n = 5;
    const [h, w, c, cols, pad] = [3, 4, 1, 3, 2];
    const grid = tileGrid(
      constantImages(n, h, w, c, (i) => i / 10),
      n,
      h,
      w,
      c,
      cols,
      pad,
      1,
    );
    assert.equal(grid.width, cols * w + (cols + 1) * pad);
    assert.equal(grid.height, 2 * h + 3 * pad);
    assert.equal(grid.pixels.length, grid.width * grid.height * c);

    const at = (x: number, y: number): number | undefined => grid.pixels[y * grid.width + x];
    for (let i = 0; i < n; i++) {
      const top = pad + Math.floor(i / cols) * (h + pad);
      const left = pad + (i % cols) * (w + pad);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) assert.equal(at(left + x, top + y), Math.fround(i / 10));
      }
      assert.equal(at(left - 1, top), 1, 'padding left of each image');
      assert.equal(at(left + w, top + h), 1, 'padding after each image');
    }
    // The sixth cell has no image and stays padding.
    assert.equal(at(pad + 2 * (w + pad), pad + h + pad), 1);
  });

  it('places rows and channels exactly (distinct value per pixel)', () => {
    const [n, h, w, c] = [2, 2, 3, 3];
    const images = Float32Array.from({ length: n * h * w * c }, (_, i) => i / 100);
    const grid = tileGrid(images, n, h, w, c, 2, 1, -1);
    assert.equal(grid.width, 2 * 3 + 3);
    assert.equal(grid.height, 2 + 2);
    const value = (x: number, y: number, ch: number): number | undefined =>
      grid.pixels[(y * grid.width + x) * c + ch];
    // Image 1, row 1, column 2, channel 2 sits at x = 1 + 3 + 1 + 2, y = 1 + 1.
    assert.equal(value(7, 2, 2), Math.fround((((1 * h + 1) * w + 2) * c + 2) / 100));
    assert.equal(value(0, 0, 0), -1);
  });

  it('is only n images wide when n < cols', () => {
    const grid = tileGrid(new Float32Array(2 * 4 * 4 * 3), 2, 4, 4, 3, 8, 2);
    assert.equal(grid.width, 2 * 4 + 3 * 2);
    assert.equal(grid.height, 4 + 2 * 2);
  });

  it('rejects too few values', () => {
    assert.throws(() => tileGrid(new Float32Array(10), 2, 4, 4, 1, 2), RangeError);
  });
});

describe('encodePng', () => {
  it('round-trips RGB through PNG after quantisation, clipping out-of-range values', async () => {
    const [h, w, c] = [5, 7, 3] as const;
    const pixels = Float32Array.from({ length: h * w * c }, (_, i) => Math.sin(i * 0.7) * 1.2);
    const png = await encodePng(pixels, h, w, c);
    const decoded = await decodePng(png);
    assert.equal(decoded.channels, 3);
    assert.equal(decoded.width, w);
    assert.equal(decoded.height, h);
    const expected = Array.from(pixels, (v) =>
      Math.round((Math.min(1, Math.max(-1, v)) + 1) * 127.5),
    );
    assert.deepEqual(Array.from(decoded.data), expected);
  });

  it('keeps a greyscale grid at one channel', async () => {
    const images = constantImages(3, 4, 4, 1, (i) => i - 1);
    const grid = tileGrid(images, 3, 4, 4, 1, 2);
    const png = await encodePng(grid.pixels, grid.height, grid.width, 1);
    // IHDR colour type 0 is greyscale; sharp's raw() would convert it to RGB on the way out.
    assert.equal(png[25], 0);
    assert.equal((await sharp(png).metadata()).channels, 1);
    const { data, info } = await sharp(png)
      .toColourspace('b-w')
      .raw()
      .toBuffer({ resolveWithObject: true });
    assert.equal(info.channels, 1);
    assert.deepEqual(
      Array.from(data),
      Array.from(grid.pixels, (v) => Math.round((v + 1) * 127.5)),
    );
  });
});
