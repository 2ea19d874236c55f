import * as assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import type { FolderDataConfig } from '../../src/core/config/types';
import type { ImageDataset } from '../../src/core/data/dataset';
import { loadFolderDataset } from '../../src/core/data/folderDataset';
import { isUserError } from '../../src/core/errors';
import { decodeImageFile } from '../../src/core/image/imageFile';

type Colour = { r: number; g: number; b: number };

function solid(width: number, height: number, colour: Colour): sharp.Sharp {
  return sharp({ create: { width, height, channels: 3, background: colour } });
}

async function writePng(file: string, colour: Colour, width = 20, height = 20): Promise<void> {
  mkdirSync(path.dirname(file), { recursive: true });
  await solid(width, height, colour).png().toFile(file);
}

/** A PNG chunk: length, type, data, CRC over type and data. */
function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A well-formed PNG header that claims width×height 8-bit grey, with only a tiny IDAT. */
function claimedSizePng(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 0, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(64))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

describe('folder data set', () => {
  let root: string;
  let lines: string[];
  const log = (line: string): void => {
    lines.push(line);
  };

  function folder(name: string): string {
    const dir = path.join(root, name);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  function cfg(dir: string, overrides: Partial<FolderDataConfig> = {}): FolderDataConfig {
    return {
      source: 'folder',
      path: dir,
      resolution: 16,
      channels: 3,
      fit: 'cover',
      limit: 0,
      ...overrides,
    };
  }

  async function rejectsNaming(dir: string, pattern: RegExp, overrides = {}): Promise<void> {
    await assert.rejects(loadFolderDataset(cfg(dir, overrides), log), (err: unknown) => {
      assert.ok(isUserError(err), `expected a UserError, got ${String(err)}`);
      assert.ok(err.message.includes(dir), `message names the path: ${err.message}`);
      assert.match(err.message, pattern);
      return true;
    });
  }

  /** RGB of pixel (x, y) of image `index`, back in 0..255. */
  function pixel(ds: ImageDataset, index: number, x: number, y: number): number[] {
    const base = ((index * ds.height + y) * ds.width + x) * ds.channels;
    return Array.from(ds.images.subarray(base, base + ds.channels), (v) =>
      Math.round((v + 1) * 127.5),
    );
  }

  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'icgan-folder-'));
    lines = [];
  });

  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it('gives labels from class subfolders, with sorted class names', async () => {
    const dir = folder('labelled');
    await writePng(path.join(dir, 'dogs', 'd1.png'), { r: 0, g: 0, b: 255 });
    await writePng(path.join(dir, 'cats', 'c2.png'), { r: 255, g: 0, b: 0 });
    await writePng(path.join(dir, 'cats', 'c1.png'), { r: 255, g: 0, b: 0 });
    mkdirSync(path.join(dir, 'eels'));
    await solid(30, 20, { r: 0, g: 255, b: 0 })
      .jpeg()
      .toFile(path.join(dir, 'eels', 'e.JPG'));
    await solid(20, 30, { r: 0, g: 255, b: 0 })
      .webp()
      .toFile(path.join(dir, 'eels', 'f.webp'));
    writeFileSync(path.join(dir, '.DS_Store'), 'junk');
    writeFileSync(path.join(dir, 'cats', '.hidden.png'), 'junk');
    mkdirSync(path.join(dir, '.git'));

    const ds = await loadFolderDataset(cfg(dir), log);
    assert.equal(ds.source, 'folder');
    assert.equal(ds.count, 5);
    assert.deepEqual(ds.classNames, ['cats', 'dogs', 'eels']);
    assert.deepEqual(Array.from(ds.labels ?? []), [0, 0, 1, 2, 2]);
    assert.deepEqual(ds.skipped, [], 'dotfiles are ignored silently');
    assert.equal(ds.images.length, 5 * 16 * 16 * 3);
    assert.deepEqual(pixel(ds, 0, 8, 8), [255, 0, 0]);
    assert.deepEqual(pixel(ds, 2, 8, 8), [0, 0, 255]);
    const jpeg = pixel(ds, 3, 8, 8);
    assert.ok(jpeg[1] !== undefined && jpeg[1] > 240 && (jpeg[0] ?? 255) < 15, `JPEG ${jpeg}`);
    assert.ok(lines.some((l) => l.includes('5 images') && l.includes('3 classes')));
  });

  it('reads a flat folder as unlabelled', async () => {
    const dir = folder('flat');
    await writePng(path.join(dir, 'a.png'), { r: 10, g: 20, b: 30 });
    await writePng(path.join(dir, 'b.PNG'), { r: 10, g: 20, b: 30 });
    const ds = await loadFolderDataset(cfg(dir), log);
    assert.equal(ds.count, 2);
    assert.equal(ds.labels, undefined);
    assert.equal(ds.classNames, undefined);
    assert.deepEqual(pixel(ds, 1, 0, 0), [10, 20, 30]);
  });

  it('skips, counts and names corrupt, empty, truncated and unsupported files', async () => {
    const dir = folder('mixed-quality');
    await writePng(path.join(dir, 'good.png'), { r: 200, g: 100, b: 0 });
    const goodBytes = readFileSync(path.join(dir, 'good.png'));
    await writePng(path.join(dir, 'big.png'), { r: 1, g: 2, b: 3 }, 256, 256);
    const big = readFileSync(path.join(dir, 'big.png'));
    rmSync(path.join(dir, 'big.png'));
    writeFileSync(
      path.join(dir, 'corrupt.png'),
      Buffer.from(Array.from({ length: 500 }, (_, i) => (i * 37 + 11) % 256)),
    );
    writeFileSync(path.join(dir, 'empty.jpg'), Buffer.alloc(0));
    writeFileSync(path.join(dir, 'truncated.png'), big.subarray(0, big.length >> 1));
    writeFileSync(path.join(dir, 'notes.txt'), 'hello');
    assert.ok(goodBytes.length > 0);

    const ds = await loadFolderDataset(cfg(dir), log);
    assert.equal(ds.count, 1);
    const skippedNames = ds.skipped.map((s) => path.basename(s.file)).sort();
    assert.deepEqual(skippedNames, ['corrupt.png', 'empty.jpg', 'notes.txt', 'truncated.png']);
    const reason = (name: string): string =>
      ds.skipped.find((s) => path.basename(s.file) === name)?.reason ?? '';
    assert.match(reason('empty.jpg'), /empty file/);
    assert.match(reason('notes.txt'), /unsupported file type \.txt/);
    assert.match(reason('corrupt.png'), /not a readable image/);
    assert.match(reason('truncated.png'), /cannot decode image/);

    assert.ok(
      lines.some((l) => /: 1 image .* 4 skipped/.test(l)),
      lines.join('\n'),
    );
    assert.ok(lines.some((l) => /^skipped 4 files in /.test(l)));
    for (const name of skippedNames)
      assert.ok(
        lines.some((l) => l.includes(name)),
        name,
      );
  });

  it('caps the per-file log lines', async () => {
    const dir = folder('many-skips');
    await writePng(path.join(dir, 'ok.png'), { r: 0, g: 0, b: 0 });
    for (let i = 0; i < 25; i++)
      writeFileSync(path.join(dir, `n${String(i).padStart(2, '0')}.txt`), '');
    const ds = await loadFolderDataset(cfg(dir), log);
    assert.equal(ds.skipped.length, 25);
    assert.equal(lines.filter((l) => l.includes('.txt')).length, 20);
    assert.ok(lines.includes('  ... and 5 more'), lines.join('\n'));
  });

  it('rejects empty, missing, file and image-less paths, naming the path', async () => {
    await rejectsNaming(folder('empty'), /no image files found/);
    await rejectsNaming(path.join(root, 'does-not-exist'), /does not exist/);
    const file = path.join(root, 'a-file.png');
    await writePng(file, { r: 0, g: 0, b: 0 });
    await rejectsNaming(file, /is a file/);
    const textOnly = folder('text-only');
    writeFileSync(path.join(textOnly, 'readme.txt'), 'no images here');
    await rejectsNaming(textOnly, /no image files found/);
    const allBad = folder('all-bad');
    writeFileSync(path.join(allBad, 'x.png'), 'not a png');
    await rejectsNaming(allBad, /none of the 1 image files could be decoded/);
  });

  it('rejects a folder with images at its root and class subfolders', async () => {
    const dir = folder('both');
    await writePng(path.join(dir, 'loose.png'), { r: 0, g: 0, b: 0 });
    await writePng(path.join(dir, 'cats', 'c.png'), { r: 0, g: 0, b: 0 });
    await rejectsNaming(dir, /one subfolder per class.*only images/);
  });

  it('normalises RGBA, greyscale, palette and 16-bit PNGs to the requested channels', async () => {
    const dir = folder('formats');
    await sharp({
      create: {
        width: 8,
        height: 8,
        channels: 4,
        background: { r: 255, g: 255, b: 255, alpha: 0 },
      },
    })
      .png()
      .toFile(path.join(dir, 'a-rgba-transparent.png'));
    await sharp(Buffer.alloc(64, 200), { raw: { width: 8, height: 8, channels: 1 } })
      .toColourspace('b-w')
      .png()
      .toFile(path.join(dir, 'b-grey.png'));
    await sharp(new Uint16Array(64).fill(65535), { raw: { width: 8, height: 8, channels: 1 } })
      .toColourspace('grey16')
      .png()
      .toFile(path.join(dir, 'c-grey16.png'));
    await sharp(new Uint16Array(64 * 3).fill(32896), { raw: { width: 8, height: 8, channels: 3 } })
      .toColourspace('rgb16')
      .png()
      .toFile(path.join(dir, 'd-rgb16.png'));
    await solid(8, 8, { r: 0, g: 128, b: 255 })
      .png({ palette: true })
      .toFile(path.join(dir, 'e-palette.png'));
    assert.equal((await sharp(path.join(dir, 'c-grey16.png')).metadata()).depth, 'ushort');

    const rgb = await loadFolderDataset(cfg(dir, { resolution: 8 }), log);
    assert.equal(rgb.count, 5);
    assert.equal(rgb.channels, 3);
    assert.equal(rgb.images.length, 5 * 8 * 8 * 3);
    assert.deepEqual(pixel(rgb, 0, 4, 4), [0, 0, 0], 'transparent pixels are flattened onto black');
    assert.deepEqual(pixel(rgb, 1, 4, 4), [200, 200, 200]);
    assert.deepEqual(pixel(rgb, 2, 4, 4), [255, 255, 255], '16-bit white stays white');
    assert.deepEqual(pixel(rgb, 3, 4, 4), [128, 128, 128], '16-bit mid-grey scales to 8-bit');
    assert.deepEqual(pixel(rgb, 4, 4, 4), [0, 128, 255]);

    const grey = await loadFolderDataset(cfg(dir, { resolution: 8, channels: 1 }), log);
    assert.equal(grey.channels, 1);
    assert.equal(grey.images.length, 5 * 8 * 8);
    assert.deepEqual(pixel(grey, 1, 4, 4), [200]);
    assert.deepEqual(pixel(grey, 2, 4, 4), [255]);
  });

  it('skips a PNG whose header claims 20000×20000 before decoding it', async () => {
    const dir = folder('bomb');
    await writePng(path.join(dir, 'a-fine.png'), { r: 0, g: 0, b: 0 });
    writeFileSync(path.join(dir, 'b-bomb.png'), claimedSizePng(20000, 20000));
    const ds = await loadFolderDataset(cfg(dir), log);
    assert.equal(ds.count, 1);
    assert.equal(ds.skipped.length, 1);
    assert.match(
      ds.skipped[0]?.reason ?? '',
      /20000×20000 \(400\.0 megapixels\), over the 100-megapixel limit/,
    );
  });

  it('brings non-square images to resolution×resolution with cover, contain and fill', async () => {
    const dir = folder('fit');
    // 40×20: a 10 px green stripe on the left, red elsewhere.
    const stripe = await solid(10, 20, { r: 0, g: 255, b: 0 }).png().toBuffer();
    await solid(40, 20, { r: 255, g: 0, b: 0 })
      .composite([{ input: stripe, left: 0, top: 0 }])
      .png()
      .toFile(path.join(dir, 'wide.png'));
    const load = (fit: FolderDataConfig['fit']): Promise<ImageDataset> =>
      loadFolderDataset(cfg(dir, { fit }), log);

    const cover = await load('cover');
    const contain = await load('contain');
    const fill = await load('fill');
    for (const ds of [cover, contain, fill]) {
      assert.equal(ds.height, 16);
      assert.equal(ds.width, 16);
      assert.equal(ds.images.length, 16 * 16 * 3);
    }
    // cover crops the centre 20×20, which has no stripe (column 0 is near it: resampling blurs).
    assert.deepEqual(pixel(cover, 0, 3, 8), [255, 0, 0]);
    // contain letterboxes: 16×8 image between black bands of 4 rows.
    assert.deepEqual(pixel(contain, 0, 8, 0), [0, 0, 0]);
    assert.deepEqual(pixel(contain, 0, 8, 8), [255, 0, 0]);
    assert.deepEqual(pixel(contain, 0, 0, 8), [0, 255, 0]);
    // fill stretches: the stripe covers the left quarter, no black bands.
    assert.deepEqual(pixel(fill, 0, 0, 0), [0, 255, 0]);
    assert.deepEqual(pixel(fill, 0, 12, 0), [255, 0, 0]);
  });

  it('keeps the first `limit` images in path order', async () => {
    const dir = folder('limited');
    for (let i = 0; i < 6; i++) {
      await writePng(path.join(dir, `img${i}.png`), { r: i * 40, g: 0, b: 0 }, 4, 4);
    }
    writeFileSync(path.join(dir, 'img0a.png'), 'broken');
    const ds = await loadFolderDataset(cfg(dir, { limit: 3, resolution: 4 }), log);
    assert.equal(ds.count, 3);
    assert.deepEqual(
      [0, 1, 2].map((i) => pixel(ds, i, 0, 0)[0]),
      [0, 40, 80],
    );
  });

  it('does not follow symlink loops', async () => {
    const dir = folder('loops');
    const cats = path.join(dir, 'cats');
    await writePng(path.join(cats, 'c.png'), { r: 0, g: 0, b: 0 });
    symlinkSync(dir, path.join(cats, 'up'));
    symlinkSync(path.join(cats, 'self.png'), path.join(cats, 'self.png'));
    const ds = await loadFolderDataset(cfg(dir), log);
    assert.equal(ds.count, 1);
    const reasons = ds.skipped.map((s) => `${path.basename(s.file)}: ${s.reason}`).sort();
    assert.equal(reasons.length, 2);
    assert.match(reasons[0] ?? '', /^self\.png: broken symbolic link/);
    assert.match(reasons[1] ?? '', /^up: nested folder ignored/);
  });
});

describe('decodeImageFile', () => {
  let dir: string;

  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'icgan-image-'));
  });

  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('returns [-1, 1] HWC pixels', async () => {
    const file = path.join(dir, 'white.png');
    await writePng(file, { r: 255, g: 255, b: 255 }, 10, 30);
    const rgb = await decodeImageFile(file, 8, 3, 'contain');
    assert.equal(rgb.length, 8 * 8 * 3);
    assert.equal(rgb[0], -1, 'letterbox is black');
    assert.equal(rgb[(4 * 8 + 4) * 3], 1);
    const grey = await decodeImageFile(file, 8, 1, 'fill');
    assert.equal(grey.length, 64);
    assert.ok(grey.every((v) => v === 1));
  });

  it('throws a UserError naming an unreadable file', async () => {
    const file = path.join(dir, 'broken.webp');
    writeFileSync(file, 'definitely not an image');
    await assert.rejects(decodeImageFile(file, 8, 3, 'cover'), (err: unknown) => {
      assert.ok(isUserError(err));
      assert.ok(err.message.startsWith(`${file}: `), err.message);
      return true;
    });
    const missing = path.join(dir, 'missing.png');
    await assert.rejects(
      decodeImageFile(missing, 8, 3, 'cover'),
      /missing\.png: cannot read file \(.*ENOENT/,
    );
  });
});
