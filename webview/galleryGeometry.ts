/**
 * Where the cells of an instance-neighbour gallery PNG lie, so the dashboard can crop one row and
 * its three groups (instance, neighbours, generated samples). Pure; no DOM.
 *
 * The engine draws the gallery (src/core/instances/galleryImage.ts with tileGrid) as square cells
 * of the training resolution, per row: instance | blank | k neighbours | blank | samples, with a
 * 2 px white padding between cells and around the border. The cell size is not in the message, so
 * it is recovered from the image's natural size; layouts without the blank cells or without the
 * padding are tried too, and if none fits exactly, the image is divided evenly (no gaps).
 */

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface GalleryGeometry {
  cellWidth: number;
  cellHeight: number;
  /** Pixels between cells and around the border. */
  pad: number;
  /** Whether a blank cell separates the instance, the neighbours and the samples. */
  gapColumns: boolean;
  /** Cells per row, blank ones included. */
  columns: number;
  rows: number;
  neighbours: number;
  samplesPerRow: number;
  /** Whether the natural size matched a known layout exactly (square, whole-pixel cells). */
  exact: boolean;
}

export interface GalleryRowCrop {
  /** The whole row, border padding excluded. */
  row: Rect;
  instance: Rect;
  /** All k neighbour cells (and the padding between them); width 0 when k is 0. */
  neighbours: Rect;
  /** All generated cells; width 0 when there are none. */
  samples: Rect;
}

const LAYOUTS: readonly { pad: number; gapColumns: boolean }[] = [
  { pad: 2, gapColumns: true }, // what galleryImage.ts draws today
  { pad: 0, gapColumns: false },
  { pad: 2, gapColumns: false },
  { pad: 0, gapColumns: true },
];

const validCount = (n: number, min: number): boolean => Number.isInteger(n) && n >= min;

/** The gallery's geometry, or null when the numbers cannot describe a gallery. */
export function galleryGeometry(
  naturalWidth: number,
  naturalHeight: number,
  rows: number,
  neighbours: number,
  samplesPerRow: number,
): GalleryGeometry | null {
  if (!(naturalWidth > 0 && naturalHeight > 0)) return null;
  if (!validCount(rows, 1) || !validCount(neighbours, 0) || !validCount(samplesPerRow, 0)) {
    return null;
  }
  const base = { rows, neighbours, samplesPerRow };
  for (const { pad, gapColumns } of LAYOUTS) {
    const columns = 1 + neighbours + samplesPerRow + (gapColumns ? 2 : 0);
    const cellWidth = (naturalWidth - (columns + 1) * pad) / columns;
    const cellHeight = (naturalHeight - (rows + 1) * pad) / rows;
    if (cellWidth >= 1 && Number.isInteger(cellWidth) && cellWidth === cellHeight) {
      return { ...base, cellWidth, cellHeight, pad, gapColumns, columns, exact: true };
    }
  }
  const columns = 1 + neighbours + samplesPerRow;
  return {
    ...base,
    cellWidth: naturalWidth / columns,
    cellHeight: naturalHeight / rows,
    pad: 0,
    gapColumns: false,
    columns,
    exact: false,
  };
}

/** The rectangles of row `index` (0-based), or null when the row does not exist. */
export function galleryRowCrop(geometry: GalleryGeometry, index: number): GalleryRowCrop | null {
  const { cellWidth, cellHeight, pad, gapColumns, columns, neighbours, samplesPerRow } = geometry;
  if (!Number.isInteger(index) || index < 0 || index >= geometry.rows) return null;
  const y = pad + index * (cellHeight + pad);
  const columnX = (column: number): number => pad + column * (cellWidth + pad);
  const span = (first: number, count: number): Rect => ({
    x: columnX(first),
    y,
    width: count > 0 ? count * cellWidth + (count - 1) * pad : 0,
    height: cellHeight,
  });
  const gap = gapColumns ? 1 : 0;
  return {
    row: span(0, columns),
    instance: span(0, 1),
    neighbours: span(1 + gap, neighbours),
    samples: span(1 + gap + neighbours + gap, samplesPerRow),
  };
}
