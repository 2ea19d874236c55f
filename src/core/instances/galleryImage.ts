import { tileGrid } from '../image/imageGrid';
import { encodePng } from '../image/pngEncode';

/** One gallery row: an instance, its k real neighbours, and images generated from it. */
export interface GalleryRow {
  instance: Float32Array;
  /** k images, concatenated. */
  neighbours: Float32Array;
  /** m images, concatenated. */
  samples: Float32Array;
}

export interface GalleryLayout {
  resolution: number;
  channels: 1 | 3;
  k: number;
  samplesPerRow: number;
}

/**
 * Renders rows as one PNG: instance | gap | k neighbours | gap | generated samples. The gaps are
 * blank cells so the three groups read apart at a glance without a legend.
 */
export async function renderGallery(
  rows: readonly GalleryRow[],
  layout: GalleryLayout,
): Promise<Buffer> {
  const { resolution: r, channels: c, k, samplesPerRow: m } = layout;
  const size = r * r * c;
  const columns = 1 + 1 + k + 1 + m;
  const cells = new Float32Array(rows.length * columns * size).fill(1);
  rows.forEach((row, i) => {
    const base = i * columns * size;
    cells.set(row.instance.subarray(0, size), base);
    cells.set(row.neighbours.subarray(0, k * size), base + 2 * size);
    cells.set(row.samples.subarray(0, m * size), base + (3 + k) * size);
  });
  const grid = tileGrid(cells, rows.length * columns, r, r, c, columns);
  return encodePng(grid.pixels, grid.height, grid.width, c);
}
