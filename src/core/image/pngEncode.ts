import sharp from 'sharp';

/**
 * Encodes model-space pixels ([-1, 1], HWC) as a PNG: values are clipped, mapped to 0..255 and
 * rounded. One channel gives a greyscale PNG, three an RGB one.
 */
export async function encodePng(
  pixels: Float32Array,
  height: number,
  width: number,
  channels: 1 | 3,
): Promise<Buffer> {
  const expected = height * width * channels;
  if (pixels.length !== expected) {
    throw new RangeError(
      `encodePng: got ${pixels.length} values for ${height}×${width}×${channels} (${expected})`,
    );
  }
  const bytes = Buffer.alloc(expected);
  for (let i = 0; i < expected; i++) {
    const value = pixels[i] ?? 0;
    // NaN (a diverged generator) becomes mid-grey rather than failing the whole preview.
    const unit = Number.isNaN(value) ? 0 : Math.min(1, Math.max(-1, value));
    bytes[i] = Math.round((unit + 1) * 127.5);
  }
  // sharp writes one-channel raw input as RGB unless told the colourspace is greyscale.
  const image = sharp(bytes, { raw: { width, height, channels } });
  return (channels === 1 ? image.toColourspace('b-w') : image).png().toBuffer();
}
