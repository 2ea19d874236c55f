import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { UserError } from '../errors';

/**
 * How a non-square image becomes resolution×resolution:
 * - 'cover': scale so the short side fits, then crop the centre (no distortion, loses the edges);
 * - 'contain': scale so the long side fits, then letterbox on black (no distortion, keeps it all);
 * - 'fill': stretch both axes independently (keeps it all, distorts the aspect ratio).
 */
export type ImageFit = 'cover' | 'contain' | 'fill';

/** Extensions (lower case) that the folder source reads; everything else is skipped. */
export const IMAGE_EXTENSIONS: readonly string[] = ['.png', '.jpg', '.jpeg', '.webp'];

/**
 * Images with more pixels than this are refused before decoding: a few-kilobyte PNG can claim
 * 20000×20000 and would otherwise allocate gigabytes (a decompression bomb).
 */
export const MAX_INPUT_PIXELS = 100_000_000;

/** Formats decided by the file content; sharp could decode more (SVG, PDF, TIFF…) but we don't. */
const ACCEPTED_FORMATS: ReadonlySet<string> = new Set(['png', 'jpeg', 'webp']);

/**
 * Decoder options shared by every caller so that a training set and a single embedded image are
 * read identically. failOn 'error' rejects truncated or corrupt data but tolerates the harmless
 * warnings that many real-world JPEGs trigger; autoOrient applies the EXIF rotation of photos.
 */
const SHARP_INPUT_OPTIONS: sharp.SharpOptions = {
  failOn: 'error',
  limitInputPixels: MAX_INPUT_PIXELS,
  autoOrient: true,
};

/** Letterbox colour for 'contain' and the colour transparent pixels are flattened onto. */
const BLACK = { r: 0, g: 0, b: 0, alpha: 1 };

/** An image file that could not be used; `reason` alone fits in a list of skipped files. */
export class ImageDecodeError extends UserError {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
  }
}

export function hasImageExtension(file: string): boolean {
  return IMAGE_EXTENSIONS.includes(path.extname(file).toLowerCase());
}

/**
 * Decodes an image file to resolution×resolution×channels bytes (HWC, 8-bit, sRGB or grey).
 * Every input (greyscale, RGBA, palette, 16-bit, CMYK) is normalised to that layout; alpha is
 * flattened onto black, which matches the letterbox colour and -1 in model space.
 * Throws ImageDecodeError for anything unusable.
 */
export async function decodeImageBytes(
  file: string,
  resolution: number,
  channels: 1 | 3,
  fit: ImageFit,
): Promise<Uint8Array> {
  const bytes = await readInput(file);
  await checkHeader(file, bytes);
  const raw = await runPipeline(file, bytes, resolution, channels, fit);
  if (raw.length !== resolution * resolution * channels) {
    throw new ImageDecodeError(
      file,
      `decoded to ${raw.length} bytes, expected ${resolution}²×${channels}`,
    );
  }
  return raw;
}

/** Like decodeImageBytes, with pixels mapped to [-1, 1] as the models expect. */
export async function decodeImageFile(
  file: string,
  resolution: number,
  channels: 1 | 3,
  fit: ImageFit,
): Promise<Float32Array> {
  const raw = await decodeImageBytes(file, resolution, channels, fit);
  const out = new Float32Array(raw.length);
  bytesToUnit(raw, out, 0);
  return out;
}

/** Writes bytes 0..255 as floats -1..1 into `out` from `offset`. */
export function bytesToUnit(bytes: Uint8Array, out: Float32Array, offset: number): void {
  for (let i = 0; i < bytes.length; i++) {
    out[offset + i] = (bytes[i] ?? 0) / 127.5 - 1;
  }
}

async function readInput(file: string): Promise<Buffer> {
  let bytes: Buffer;
  try {
    const stat = await fs.stat(file);
    if (!stat.isFile()) throw new ImageDecodeError(file, 'not a file');
    bytes = await fs.readFile(file);
  } catch (err) {
    if (err instanceof ImageDecodeError) throw err;
    throw new ImageDecodeError(file, `cannot read file (${errorText(err)})`);
  }
  if (bytes.length === 0) throw new ImageDecodeError(file, 'empty file (0 bytes)');
  return bytes;
}

/** Checks format and size from the header alone, before any pixel is decoded. */
async function checkHeader(file: string, bytes: Buffer): Promise<void> {
  let meta: sharp.Metadata;
  try {
    // Reading the header is safe whatever its claims; lifting sharp's own limit here lets the
    // size check below give the real dimensions instead of a generic message.
    meta = await sharp(bytes, { ...SHARP_INPUT_OPTIONS, limitInputPixels: false }).metadata();
  } catch (err) {
    throw new ImageDecodeError(file, `not a readable image (${errorText(err)})`);
  }
  if (meta.format === undefined || !ACCEPTED_FORMATS.has(meta.format)) {
    throw new ImageDecodeError(
      file,
      `unsupported image format '${meta.format ?? 'unknown'}' (expected PNG, JPEG or WebP)`,
    );
  }
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  if (width * height > MAX_INPUT_PIXELS) {
    const megapixels = ((width * height) / 1e6).toFixed(1);
    throw new ImageDecodeError(
      file,
      `image is ${width}×${height} (${megapixels} megapixels), over the ${MAX_INPUT_PIXELS / 1e6}-megapixel limit`,
    );
  }
}

async function runPipeline(
  file: string,
  bytes: Buffer,
  resolution: number,
  channels: 1 | 3,
  fit: ImageFit,
): Promise<Uint8Array> {
  try {
    const { data, info } = await sharp(bytes, SHARP_INPUT_OPTIONS)
      .flatten({ background: BLACK })
      .resize(resolution, resolution, { fit, position: 'centre', background: BLACK })
      .toColourspace(channels === 1 ? 'b-w' : 'srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== channels) {
      throw new ImageDecodeError(
        file,
        `decoded to ${info.channels} channels, expected ${channels}`,
      );
    }
    return new Uint8Array(data.buffer, data.byteOffset, data.length);
  } catch (err) {
    if (err instanceof ImageDecodeError) throw err;
    throw new ImageDecodeError(file, `cannot decode image (${errorText(err)})`);
  }
}

/** First line of an error message: libvips messages can span several lines. */
function errorText(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0]?.trim() ?? message;
}
