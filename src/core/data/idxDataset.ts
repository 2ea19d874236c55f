import { promises as fs } from 'node:fs';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import type { IdxDataConfig } from '../config/types';
import { UserError } from '../errors';
import type { ImageDataset } from './dataset';
import { Rng } from '../random/rng';

const gunzip = promisify(zlib.gunzip);

/** IDX magic numbers: two zero bytes, type 0x08 (unsigned byte), number of dimensions. */
const IMAGES_MAGIC = 0x00000803;
const LABELS_MAGIC = 0x00000801;
const IMAGES_HEADER_BYTES = 16;
const LABELS_HEADER_BYTES = 8;

interface IdxImages {
  count: number;
  rows: number;
  cols: number;
  /** count × rows × cols bytes, a view into the file. */
  pixels: Uint8Array;
}

/**
 * Loads MNIST-style IDX files (raw or gzipped): greyscale uint8 images, optional uint8 labels.
 * Images are resized to cfg.resolution with bilinear interpolation when needed.
 */
export async function loadIdxDataset(cfg: IdxDataConfig): Promise<ImageDataset> {
  const images = parseImages(cfg.images, await readIdxFile(cfg.images));
  const allLabels =
    cfg.labels === null ? undefined : parseLabels(cfg.labels, await readIdxFile(cfg.labels));

  if (allLabels !== undefined && allLabels.length !== images.count) {
    throw new UserError(
      `${cfg.labels}: has ${allLabels.length} labels but ${cfg.images} has ${images.count} images`,
    );
  }
  // Validated over the whole file, not just the kept prefix, so the class list does not
  // depend on the limit.
  const classNames = allLabels === undefined ? undefined : resolveClassNames(cfg, allLabels);

  if ((cfg.stack ?? 1) === 3) return stackedDataset(cfg, images, allLabels, classNames);
  const count = cfg.limit > 0 ? Math.min(cfg.limit, images.count) : images.count;
  const size = cfg.resolution * cfg.resolution;
  const pixels = new Float32Array(count * size);
  const resize = bilinearResizer(images.rows, images.cols, cfg.resolution, cfg.resolution);
  const imageBytes = images.rows * images.cols;
  for (let i = 0; i < count; i++) {
    resize(images.pixels.subarray(i * imageBytes, (i + 1) * imageBytes), pixels, i * size);
  }

  const labels =
    allLabels === undefined ? undefined : Int32Array.from(allLabels.subarray(0, count));
  const classPart = classNames === undefined ? 'unlabelled' : `${classNames.length} classes`;
  return {
    source: 'idx',
    description: `idx ${cfg.images}: ${count} images ${geometry(images, cfg)}, ${classPart}`,
    count,
    height: cfg.resolution,
    width: cfg.resolution,
    channels: 1,
    images: pixels,
    ...(labels === undefined || classNames === undefined ? {} : { labels, classNames }),
    skipped: [],
  };
}

function geometry(images: IdxImages, cfg: IdxDataConfig): string {
  const target = `${cfg.resolution}×${cfg.resolution}`;
  const source = `${images.rows}×${images.cols}`;
  return source === target ? source : `${source} → ${target}`;
}

const STACK = 3;

/**
 * data.stack 3: every image is three images of the file drawn at random (seeded), as its red,
 * green and blue channels; its label is the triple, (a·C + b)·C + c for C classes, named by the
 * three names — with MNIST, the 1,000 modes of stacked MNIST.
 */
function stackedDataset(
  cfg: IdxDataConfig,
  images: IdxImages,
  allLabels: Uint8Array | undefined,
  classNames: string[] | undefined,
): ImageDataset {
  const count = cfg.limit > 0 ? cfg.limit : images.count;
  const area = cfg.resolution * cfg.resolution;
  const pixels = new Float32Array(count * area * STACK);
  const plane = new Float32Array(area);
  const resize = bilinearResizer(images.rows, images.cols, cfg.resolution, cfg.resolution);
  const imageBytes = images.rows * images.cols;
  const rng = new Rng(cfg.seed ?? 0);
  const c = classNames?.length ?? 0;
  const labels = allLabels && c > 0 ? new Int32Array(count) : undefined;
  for (let i = 0; i < count; i++) {
    let label = 0;
    for (let ch = 0; ch < STACK; ch++) {
      const src = rng.int(images.count);
      resize(images.pixels.subarray(src * imageBytes, (src + 1) * imageBytes), plane, 0);
      for (let p = 0; p < area; p++) pixels[(i * area + p) * STACK + ch] = plane[p] ?? 0;
      label = label * c + (allLabels?.[src] ?? 0);
    }
    if (labels) labels[i] = label;
  }
  const names =
    labels && classNames
      ? Array.from({ length: c ** STACK }, (_, k) =>
          [Math.floor(k / (c * c)), Math.floor(k / c) % c, k % c]
            .map((d) => classNames[d])
            .join(c <= 10 ? '' : '-'),
        )
      : undefined;
  return {
    source: 'idx',
    description: `idx ${cfg.images} stacked ×3 as RGB (seed ${cfg.seed ?? 0}): ${count} images ${geometry(images, cfg)}, ${names ? `${names.length} classes` : 'unlabelled'}`,
    count,
    height: cfg.resolution,
    width: cfg.resolution,
    channels: 3,
    images: pixels,
    ...(labels && names ? { labels, classNames: names } : {}),
    skipped: [],
  };
}

/** Reads a file and gunzips it when it starts with the gzip magic bytes, whatever its name. */
async function readIdxFile(file: string): Promise<Uint8Array> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file does not exist' : `cannot read file (${code ?? err})`;
    throw new UserError(`${file}: ${why}`);
  }
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  try {
    return await gunzip(bytes);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new UserError(`${file}: corrupt or truncated gzip data (${message})`);
  }
}

function parseImages(file: string, bytes: Uint8Array): IdxImages {
  checkMagic(file, bytes, IMAGES_MAGIC, 'images');
  if (bytes.length < IMAGES_HEADER_BYTES) {
    throw new UserError(`${file}: truncated IDX file: the header alone needs 16 bytes`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(4);
  const rows = view.getUint32(8);
  const cols = view.getUint32(12);
  if (rows === 0 || cols === 0) {
    throw new UserError(`${file}: IDX header says the images are ${rows}×${cols}`);
  }
  const expected = IMAGES_HEADER_BYTES + count * rows * cols;
  checkLength(file, bytes.length, expected, `${count} images of ${rows}×${cols}`);
  return { count, rows, cols, pixels: bytes.subarray(IMAGES_HEADER_BYTES, expected) };
}

function parseLabels(file: string, bytes: Uint8Array): Uint8Array {
  checkMagic(file, bytes, LABELS_MAGIC, 'labels');
  if (bytes.length < LABELS_HEADER_BYTES) {
    throw new UserError(`${file}: truncated IDX file: the header alone needs 8 bytes`);
  }
  const count = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4);
  checkLength(file, bytes.length, LABELS_HEADER_BYTES + count, `${count} labels`);
  return bytes.subarray(LABELS_HEADER_BYTES);
}

function checkMagic(file: string, bytes: Uint8Array, expected: number, kind: string): void {
  if (bytes.length < 4) {
    throw new UserError(`${file}: not an IDX ${kind} file (only ${bytes.length} bytes)`);
  }
  const magic = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0);
  if (magic === expected) return;
  const other = magic === IMAGES_MAGIC ? 'images' : magic === LABELS_MAGIC ? 'labels' : undefined;
  const hint =
    other === undefined
      ? ''
      : ` (it is an IDX ${other} file: are data.images and data.labels swapped?)`;
  throw new UserError(
    `${file}: not an IDX ${kind} file: magic number is ${hex(magic)}, expected ${hex(expected)}${hint}`,
  );
}

function checkLength(file: string, actual: number, expected: number, content: string): void {
  if (actual < expected) {
    throw new UserError(
      `${file}: truncated IDX file: header says ${content} (${expected} bytes) but the file has ${actual} bytes`,
    );
  }
  if (actual > expected) {
    throw new UserError(
      `${file}: IDX file too long: header says ${content} (${expected} bytes) but the file has ${actual} bytes`,
    );
  }
}

function resolveClassNames(cfg: IdxDataConfig, labels: Uint8Array): string[] {
  let max = 0;
  let maxAt = 0;
  labels.forEach((label, i) => {
    if (label > max) {
      max = label;
      maxAt = i;
    }
  });
  if (cfg.classNames === null) return Array.from({ length: max + 1 }, (_, i) => String(i));
  if (max >= cfg.classNames.length) {
    throw new UserError(
      `${cfg.labels}: label ${max} (at index ${maxAt}) is out of range for the ` +
        `${cfg.classNames.length} names in data.classNames`,
    );
  }
  return [...cfg.classNames];
}

function hex(value: number): string {
  return `0x${value.toString(16).padStart(8, '0')}`;
}

/**
 * Returns a function that resizes one uint8 greyscale image into [-1, 1] floats at `offset` of
 * `out`. Bilinear with half-pixel centres (align-corners false, like tf.image.resizeBilinear with
 * halfPixelCenters), so a 28→32 upscale does not shift the image. Tables are computed once and
 * reused for every image.
 */
export function bilinearResizer(
  srcHeight: number,
  srcWidth: number,
  dstHeight: number,
  dstWidth: number,
): (src: Uint8Array, out: Float32Array, offset: number) => void {
  if (srcHeight === dstHeight && srcWidth === dstWidth) {
    return (src, out, offset) => {
      for (let i = 0; i < src.length; i++) out[offset + i] = (src[i] ?? 0) / 127.5 - 1;
    };
  }
  const ys = sampleTable(srcHeight, dstHeight);
  const xs = sampleTable(srcWidth, dstWidth);
  return (src, out, offset) => {
    for (let y = 0; y < dstHeight; y++) {
      const row0 = (ys.lo[y] ?? 0) * srcWidth;
      const row1 = (ys.hi[y] ?? 0) * srcWidth;
      const fy = ys.frac[y] ?? 0;
      for (let x = 0; x < dstWidth; x++) {
        const x0 = xs.lo[x] ?? 0;
        const x1 = xs.hi[x] ?? 0;
        const fx = xs.frac[x] ?? 0;
        const top = (src[row0 + x0] ?? 0) * (1 - fx) + (src[row0 + x1] ?? 0) * fx;
        const bottom = (src[row1 + x0] ?? 0) * (1 - fx) + (src[row1 + x1] ?? 0) * fx;
        out[offset + y * dstWidth + x] = (top * (1 - fy) + bottom * fy) / 127.5 - 1;
      }
    }
  };
}

interface SampleTable {
  lo: Int32Array;
  hi: Int32Array;
  frac: Float32Array;
}

/** For each output index, the two source indices it blends and the weight of the second. */
function sampleTable(srcSize: number, dstSize: number): SampleTable {
  const table: SampleTable = {
    lo: new Int32Array(dstSize),
    hi: new Int32Array(dstSize),
    frac: new Float32Array(dstSize),
  };
  const scale = srcSize / dstSize;
  for (let i = 0; i < dstSize; i++) {
    const source = Math.min(Math.max((i + 0.5) * scale - 0.5, 0), srcSize - 1);
    const lo = Math.floor(source);
    table.lo[i] = lo;
    table.hi[i] = Math.min(lo + 1, srcSize - 1);
    table.frac[i] = source - lo;
  }
  return table;
}
