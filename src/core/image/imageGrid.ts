export interface ImageGrid {
  /** height × width × channels values, HWC, same channel count as the input images. */
  pixels: Float32Array;
  height: number;
  width: number;
}

/**
 * Lays out n images (NHWC, concatenated) in rows of `cols`, left to right then top to bottom,
 * with `pad` pixels of `padValue` between images and around the border. Cells after the last
 * image are left at padValue. With fewer images than cols, the grid is only n images wide.
 */
export function tileGrid(
  images: Float32Array,
  n: number,
  h: number,
  w: number,
  c: number,
  cols: number,
  pad = 2,
  padValue = 1,
): ImageGrid {
  if (!(n >= 1 && h >= 1 && w >= 1 && c >= 1 && cols >= 1 && pad >= 0)) {
    throw new RangeError(
      `tileGrid: invalid geometry n=${n} ${h}×${w}×${c} cols=${cols} pad=${pad}`,
    );
  }
  if (images.length < n * h * w * c) {
    throw new RangeError(
      `tileGrid: ${images.length} values cannot hold ${n} images of ${h}×${w}×${c}`,
    );
  }
  const columns = Math.min(cols, n);
  const rows = Math.ceil(n / columns);
  const height = rows * h + (rows + 1) * pad;
  const width = columns * w + (columns + 1) * pad;
  const pixels = new Float32Array(height * width * c).fill(padValue);

  const rowLength = w * c;
  for (let i = 0; i < n; i++) {
    const top = pad + Math.floor(i / columns) * (h + pad);
    const left = pad + (i % columns) * (w + pad);
    for (let y = 0; y < h; y++) {
      const from = (i * h + y) * rowLength;
      pixels.set(images.subarray(from, from + rowLength), ((top + y) * width + left) * c);
    }
  }
  return { pixels, height, width };
}
