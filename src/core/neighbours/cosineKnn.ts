/**
 * Exact k-nearest-neighbour search by cosine similarity: the neighbourhoods A_i of IC-GAN
 * (papers.md). Everything is a plain function over row-major Float32Array matrices so the CLI, the
 * trainer and benchmarks share it; tfjs only does the matrix products.
 *
 * Cost model (measured on tfjs-wasm, tfjs-backends.md): the product is the bulk of the time, so a
 * search over a training set with itself multiplies only the upper triangle of the similarity
 * matrix and feeds every product to both rows it belongs to. Selecting the top k is plain JS over
 * each block's data — tf.topk cost a third of the search.
 */
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../errors';
import { takeFloats } from '../backend/tensorRead';

/** One block of products holds at most this many float32s (64 MB). */
export const BLOCK_ELEMENTS = 16 * 1024 * 1024;

export interface KnnResult {
  /** n×k row-major: the neighbours of each query, most similar first. */
  indices: Int32Array;
  /** n×k row-major, descending per row; equal similarities keep the smaller index first. */
  similarities: Float32Array;
  /** Per query: 1 − similarity of its k-th neighbour (the IC-GAN neighbourhood "radius"). */
  kthDistance: Float32Array;
}

export interface KnnOptions {
  /** Query rows per block; default: as many as keep a block of products within 64 MB. */
  blockRows?: number;
  /**
   * Drop database row i from the neighbours of query row i. Default: true for a search of the
   * features with themselves, false with `queries`. Exclusion is by index, so an exact duplicate
   * of a sample is still its neighbour (the official code searches k+1 and drops the sample).
   */
  excludeSelf?: boolean;
  /** Search these rows (e.g. unseen images) against `features` instead of `features` itself. */
  queries?: { features: Float32Array; n: number };
}

/**
 * Returns a copy of `features` (n×d) with every row scaled to unit L2 norm, norms accumulated in
 * Float64. A zero row stays zero rather than becoming NaN: its cosine similarity with everything
 * is then 0, so it still sorts deterministically instead of poisoning comparisons.
 */
export function l2Normalise(features: Float32Array, n: number, d: number): Float32Array {
  assertMatrix('features', features, n, d);
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const row = features.subarray(i * d, (i + 1) * d);
    let sq = 0;
    for (let c = 0; c < d; c++) sq += row[c]! * row[c]!;
    if (sq === 0) continue;
    const inv = 1 / Math.sqrt(sq);
    for (let c = 0; c < d; c++) out[i * d + c] = row[c]! * inv;
  }
  return out;
}

/**
 * The k most similar rows of `features` (n×d, assumed L2-normalised: similarity is the plain dot
 * product) for every row of `features`, or for every row of `opts.queries`.
 */
export async function exactCosineKnn(
  features: Float32Array,
  n: number,
  d: number,
  k: number,
  opts: KnnOptions = {},
): Promise<KnnResult> {
  assertMatrix('features', features, n, d);
  const queries = opts.queries;
  if (queries) assertMatrix('query features', queries.features, queries.n, d);
  const excludeSelf = opts.excludeSelf ?? queries === undefined;
  assertNeighbourCount(k, n, excludeSelf);
  assertFinite('features', features, d);
  if (queries) assertFinite('query features', queries.features, d);

  const top = queries
    ? await topKByDot(features, n, queries.features, queries.n, d, k, {
        excludeSelf,
        blockRows: opts.blockRows,
      })
    : await topKByDotSelf(features, n, d, k, { excludeSelf, blockRows: opts.blockRows });
  return {
    indices: top.indices,
    similarities: top.scores,
    kthDistance: kthDistances(top.scores, top.rows, k),
  };
}

/** `exactCosineKnn` of unseen `queries` (nq×d) against the training `database` (n×d). */
export async function knnForQueries(
  database: Float32Array,
  n: number,
  d: number,
  queries: Float32Array,
  nq: number,
  k: number,
  opts: Omit<KnnOptions, 'queries'> = {},
): Promise<KnnResult> {
  return exactCosineKnn(database, n, d, k, { ...opts, queries: { features: queries, n: nq } });
}

/**
 * Per row, the k best (score, index) pairs seen, as a heap whose root is the worst kept pair:
 * lower score, or on equal scores the larger index. Candidates reach a row in ascending index
 * order, so one `>` against the root's score (`threshold`) rejects most of them and also keeps
 * the smaller index on ties. Unfilled slots hold −Infinity, which every finite score beats — no
 * "not yet full" branch in the hot loop. `finish()` sorts each row best-first.
 */
export class RunningTopK {
  readonly scores: Float32Array;
  readonly indices: Int32Array;
  /** Per row, the worst kept score: the one comparison most candidates fail. */
  readonly threshold: Float32Array;

  constructor(
    readonly rows: number,
    readonly k: number,
  ) {
    this.scores = new Float32Array(rows * k).fill(-Infinity);
    this.indices = new Int32Array(rows * k).fill(-1);
    this.threshold = new Float32Array(rows).fill(-Infinity);
  }

  /** Replaces the row's worst pair by a candidate that beat `threshold[row]`. */
  offer(row: number, score: number, index: number): void {
    const { scores, indices, k } = this;
    const base = row * k;
    // Sift the candidate down from the root while a child ranks below it.
    let p = 0;
    for (;;) {
      const left = 2 * p + 1;
      if (left >= k) break;
      let child = left;
      const right = left + 1;
      if (right < k && isWorse(scores, indices, base + right, base + left)) child = right;
      const c = base + child;
      if (!(scores[c]! < score || (scores[c] === score && indices[c]! > index))) break;
      scores[base + p] = scores[c]!;
      indices[base + p] = indices[c]!;
      p = child;
    }
    scores[base + p] = score;
    indices[base + p] = index;
    this.threshold[row] = scores[base]!;
  }

  /** Sorts every row by score descending, equal scores by index ascending. */
  finish(): this {
    const { scores, indices, k } = this;
    for (let base = 0; base < scores.length; base += k) {
      // Insertion sort: k is small and this runs once per row.
      for (let i = base + 1; i < base + k; i++) {
        const s = scores[i]!;
        const idx = indices[i]!;
        let p = i;
        while (p > base && (scores[p - 1]! < s || (scores[p - 1] === s && indices[p - 1]! > idx))) {
          scores[p] = scores[p - 1]!;
          indices[p] = indices[p - 1]!;
          p--;
        }
        scores[p] = s;
        indices[p] = idx;
      }
    }
    return this;
  }
}

/** Whether slot a ranks below slot b. */
function isWorse(scores: Float32Array, indices: Int32Array, a: number, b: number): boolean {
  return scores[a]! < scores[b]! || (scores[a] === scores[b] && indices[a]! > indices[b]!);
}

/** Rewrites a block of dot products in place into scores before the top-k selection. */
export type ScoreTransform = (block: DotBlock) => void;

interface TopKOptions {
  excludeSelf: boolean;
  blockRows?: number | undefined;
  transform?: ScoreTransform | undefined;
}

/**
 * Top-k rows of `database` (n×d) by dot product (optionally transformed) for each row of
 * `queries` (nq×d). Candidates reach each query in ascending database order.
 */
export async function topKByDot(
  database: Float32Array,
  n: number,
  queries: Float32Array,
  nq: number,
  d: number,
  k: number,
  opts: TopKOptions,
): Promise<RunningTopK> {
  const top = new RunningTopK(nq, k);
  const blockCols = opts.blockRows ?? defaultBlockCols(n, nq);
  await forEachDotBlock(database, n, queries, nq, d, { blockCols }, (block) => {
    opts.transform?.(block);
    scanQueryBlock(top, block, opts.excludeSelf);
  });
  return top.finish();
}

/**
 * Top-k of `features` (n×d) against itself by a symmetric score. Only products with
 * database row ≥ first query row of the block are computed; each is offered to both of its rows.
 * Row i still sees candidates in ascending order: those below its block arrive while earlier
 * blocks are processed, the rest in its own block's pass.
 */
export async function topKByDotSelf(
  features: Float32Array,
  n: number,
  d: number,
  k: number,
  opts: TopKOptions,
): Promise<RunningTopK> {
  const top = new RunningTopK(n, k);
  const blockCols = opts.blockRows ?? defaultBlockCols(n, n);
  await forEachDotBlock(features, n, features, n, d, { blockCols, upperOnly: true }, (block) => {
    opts.transform?.(block);
    scanSelfBlock(top, block, opts.excludeSelf);
  });
  return top.finish();
}

/**
 * Products of database rows with one block of query columns: dots[t * colCount + r] is
 * <rows[rowStart + t], cols[colStart + r]>.
 */
export interface DotBlock {
  dots: Float32Array;
  rowStart: number;
  rowCount: number;
  colStart: number;
  colCount: number;
}

export interface DotBlockOptions {
  /** Query columns per block. */
  blockCols: number;
  /** Self products (rows === cols): skip row blocks below the column block (upper triangle). */
  upperOnly?: boolean;
  /** `rows` already on the backend, for callers that multiply the same rows repeatedly. */
  rowsTensor?: tf.Tensor2D;
}

/**
 * Visits rows(n×d) · cols(m×d)ᵀ block by block without ever holding it whole. The big operand is
 * the left one and the small block is transposed here in JS: tfjs-wasm's matMul with
 * transposeB=true is ~8.5× slower (tfjs-backends.md), and this orientation avoids re-packing the
 * big operand per block.
 */
export async function forEachDotBlock(
  rows: Float32Array,
  nRows: number,
  cols: Float32Array,
  nCols: number,
  d: number,
  opts: DotBlockOptions,
  visit: (block: DotBlock) => void,
): Promise<void> {
  assertBlockSize(opts.blockCols);
  const upperOnly = opts.upperOnly ?? false;
  // Without upperOnly every block uses all rows, so upload them once.
  const ownRows = upperOnly || opts.rowsTensor ? undefined : tf.tensor2d(rows, [nRows, d]);
  const allRows = opts.rowsTensor ?? ownRows;
  try {
    for (let colStart = 0; colStart < nCols; colStart += opts.blockCols) {
      const colCount = Math.min(opts.blockCols, nCols - colStart);
      const rowStart = upperOnly ? colStart : 0;
      const dots = upperOnly
        ? await rowSuffixDots(rows, nRows, rowStart, cols, colStart, colCount, d)
        : await blockDots(allRows!, cols, colStart, colCount, d);
      visit({ dots, rowStart, rowCount: nRows - rowStart, colStart, colCount });
    }
  } finally {
    ownRows?.dispose();
  }
}

async function rowSuffixDots(
  rows: Float32Array,
  nRows: number,
  rowStart: number,
  cols: Float32Array,
  colStart: number,
  colCount: number,
  d: number,
): Promise<Float32Array> {
  const suffix = tf.tensor2d(rows.subarray(rowStart * d, nRows * d), [nRows - rowStart, d]);
  try {
    return await blockDots(suffix, cols, colStart, colCount, d);
  } finally {
    suffix.dispose();
  }
}

async function blockDots(
  rows: tf.Tensor2D,
  cols: Float32Array,
  colStart: number,
  colCount: number,
  d: number,
): Promise<Float32Array> {
  const colsT = tf.tensor2d(transposeRows(cols, colStart, colCount, d), [d, colCount]);
  try {
    return await takeFloats(tf.matMul(rows, colsT));
  } finally {
    colsT.dispose();
  }
}

/** Rows [start, start + count) of an (·×d) matrix as a d×count matrix. */
function transposeRows(src: Float32Array, start: number, count: number, d: number): Float32Array {
  const out = new Float32Array(d * count);
  for (let r = 0; r < count; r++) {
    const from = (start + r) * d;
    for (let c = 0; c < d; c++) out[c * count + r] = src[from + c]!;
  }
  return out;
}

/** Columns per block so that a block of nRows × columns products stays within BLOCK_ELEMENTS. */
export function defaultBlockCols(nRows: number, nCols: number): number {
  return Math.max(1, Math.min(nCols, Math.floor(BLOCK_ELEMENTS / Math.max(1, nRows))));
}

function scanQueryBlock(top: RunningTopK, block: DotBlock, excludeSelf: boolean): void {
  const { dots, rowStart, rowCount, colStart, colCount } = block;
  const threshold = top.threshold;
  for (let t = 0; t < rowCount; t++) {
    const j = rowStart + t;
    const base = t * colCount;
    for (let r = 0; r < colCount; r++) {
      const s = dots[base + r]!;
      const q = colStart + r;
      if (s > threshold[q]! && !(excludeSelf && j === q)) top.offer(q, s, j);
    }
  }
}

function scanSelfBlock(top: RunningTopK, block: DotBlock, excludeSelf: boolean): void {
  const { dots, rowStart, rowCount, colStart, colCount } = block;
  const threshold = top.threshold;
  const colEnd = colStart + colCount;
  for (let t = 0; t < rowCount; t++) {
    const j = rowStart + t;
    const base = t * colCount;
    if (j < colEnd) {
      // Square diagonal block: both orders of each pair are in it, so feed the query side only.
      for (let r = 0; r < colCount; r++) {
        const s = dots[base + r]!;
        const q = colStart + r;
        if (s > threshold[q]! && !(excludeSelf && j === q)) top.offer(q, s, j);
      }
    } else {
      // Row j's threshold only changes when it takes a candidate; keep it in a local.
      let thresholdJ = threshold[j]!;
      for (let r = 0; r < colCount; r++) {
        const s = dots[base + r]!;
        const q = colStart + r;
        if (s > threshold[q]!) top.offer(q, s, j);
        if (s > thresholdJ) {
          top.offer(j, s, q);
          thresholdJ = threshold[j]!;
        }
      }
    }
  }
}

function kthDistances(scores: Float32Array, rows: number, k: number): Float32Array {
  const out = new Float32Array(rows);
  for (let i = 0; i < rows; i++) out[i] = 1 - scores[i * k + k - 1]!;
  return out;
}

/** Shape check for callers' arrays: a mismatch is a programming error, not a user's. */
export function assertMatrix(name: string, data: Float32Array, n: number, d: number): void {
  if (!Number.isInteger(n) || n < 0 || !Number.isInteger(d) || d < 1) {
    throw new RangeError(`${name}: bad shape ${n}×${d}`);
  }
  if (data.length !== n * d) {
    throw new RangeError(`${name}: expected ${n}×${d} = ${n * d} values, got ${data.length}`);
  }
}

/** NaN would silently lose every comparison and leave neighbour slots unfilled. */
export function assertFinite(name: string, data: Float32Array, d: number): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) {
      throw new UserError(`${name} row ${Math.floor(i / d)} contains NaN or Infinity`);
    }
  }
}

export function assertNeighbourCount(k: number, n: number, excludeSelf: boolean): void {
  const available = excludeSelf ? n - 1 : n;
  if (!Number.isInteger(k) || k < 1 || k > available) {
    const need = excludeSelf ? `1 ≤ k ≤ n − 1 (each sample is excluded from its own)` : `1 ≤ k ≤ n`;
    throw new UserError(`cannot find k = ${k} neighbours among n = ${n} samples: need ${need}`);
  }
}

function assertBlockSize(blockCols: number): void {
  if (!Number.isInteger(blockCols) || blockCols < 1) {
    throw new RangeError(`block size must be a positive integer, got ${blockCols}`);
  }
}
