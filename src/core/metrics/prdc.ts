/**
 * Precision, recall, density and coverage (Naeem et al. 2020) in any feature space, matching the
 * reference implementation (clovaai/generative-evaluation-prdc) as papers.md describes it:
 * Euclidean distances, radius = distance to the k-th nearest *other* sample of the same set, and a
 * strict `<` against the radius.
 *
 * Distances come from blocked tf.matMul products via |a|² + |b|² − 2ab, never a full N×M matrix.
 * Everything is compared as squared distances rounded to float32 the same way on both sides, so
 * a point exactly on a radius (e.g. integer coordinates) is reliably outside.
 */
import { UserError } from '../errors';
import {
  assertFinite,
  assertMatrix,
  defaultBlockCols,
  forEachDotBlock,
  topKByDotSelf,
  type DotBlock,
} from '../neighbours/cosineKnn';

export interface Prdc {
  precision: number;
  recall: number;
  density: number;
  coverage: number;
}

/** PRDC of generated features `fake` (nFake×d) against real features `real` (nReal×d). */
export async function computePrdc(
  real: Float32Array,
  nReal: number,
  fake: Float32Array,
  nFake: number,
  d: number,
  k = 5,
): Promise<Prdc> {
  assertMatrix('real features', real, nReal, d);
  assertMatrix('generated features', fake, nFake, d);
  assertNeighbourCount(k, nReal, nFake);
  assertFinite('real features', real, d);
  assertFinite('generated features', fake, d);

  // Distances are translation invariant; centring on the real mean shrinks |a|² and |b|², and with
  // them the cancellation error of |a|² + |b|² − 2ab.
  const mean = columnMean(real, nReal, d);
  const realC = subtractRow(real, nReal, d, mean);
  const fakeC = subtractRow(fake, nFake, d, mean);
  const realSq = rowSquaredNorms(realC, nReal, d);
  const fakeSq = rowSquaredNorms(fakeC, nFake, d);
  const realRadiusSq = await kthNeighbourSquaredDistance(realC, realSq, nReal, d, k);
  const fakeRadiusSq = await kthNeighbourSquaredDistance(fakeC, fakeSq, nFake, d, k);
  return await crossCounts(realC, realSq, realRadiusSq, fakeC, fakeSq, fakeRadiusSq, d, k);
}

/**
 * Per row, the squared distance to its k-th nearest other row — the reference's (k+1)-th smallest
 * distance counting the row itself at 0. Self is excluded by index, so duplicates count.
 */
async function kthNeighbourSquaredDistance(
  x: Float32Array,
  sq: Float64Array,
  n: number,
  d: number,
  k: number,
): Promise<Float32Array> {
  // Largest −distance² is nearest; the transform keeps the score symmetric, as the
  // upper-triangle search requires.
  const transform = (block: DotBlock): void => {
    toSquaredDistances(block, sq, sq);
    const dots = block.dots;
    for (let i = 0; i < dots.length; i++) dots[i] = -dots[i]!;
  };
  const top = await topKByDotSelf(x, n, d, k, { excludeSelf: true, transform });
  const radii = new Float32Array(n);
  for (let i = 0; i < n; i++) radii[i] = -top.scores[i * k + k - 1]!;
  return radii;
}

/** One pass over real × generated distances collects all four counts. */
async function crossCounts(
  real: Float32Array,
  realSq: Float64Array,
  realRadiusSq: Float32Array,
  fake: Float32Array,
  fakeSq: Float64Array,
  fakeRadiusSq: Float32Array,
  d: number,
  k: number,
): Promise<Prdc> {
  const nReal = realSq.length;
  const nFake = fakeSq.length;
  const fakeInsideReal = new Uint8Array(nFake); // precision
  const realInsideFake = new Uint8Array(nReal); // recall
  const realHasFake = new Uint8Array(nReal); // coverage
  let pairsInsideReal = 0; // density
  const blockCols = defaultBlockCols(nFake, nReal);
  await forEachDotBlock(fake, nFake, real, nReal, d, { blockCols }, (block) => {
    toSquaredDistances(block, fakeSq, realSq);
    const { dots, colStart, colCount } = block;
    for (let j = 0; j < nFake; j++) {
      const fakeRadius = fakeRadiusSq[j]!;
      const base = j * colCount;
      for (let r = 0; r < colCount; r++) {
        const dist = dots[base + r]!;
        const i = colStart + r;
        if (dist < realRadiusSq[i]!) {
          fakeInsideReal[j] = 1;
          realHasFake[i] = 1;
          pairsInsideReal++;
        }
        if (dist < fakeRadius) realInsideFake[i] = 1;
      }
    }
  });
  return {
    precision: countSet(fakeInsideReal) / nFake,
    recall: countSet(realInsideFake) / nReal,
    density: pairsInsideReal / (k * nFake),
    coverage: countSet(realHasFake) / nReal,
  };
}

/** Dot products → squared distances in place, clamped at 0 against rounding. */
function toSquaredDistances(block: DotBlock, rowSq: Float64Array, colSq: Float64Array): void {
  const { dots, rowStart, rowCount, colStart, colCount } = block;
  for (let t = 0; t < rowCount; t++) {
    const a = rowSq[rowStart + t]!;
    const base = t * colCount;
    for (let r = 0; r < colCount; r++) {
      dots[base + r] = Math.max(0, a + colSq[colStart + r]! - 2 * dots[base + r]!);
    }
  }
}

function columnMean(x: Float32Array, n: number, d: number): Float64Array {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let c = 0; c < d; c++) mean[c]! += x[i * d + c]!;
  for (let c = 0; c < d; c++) mean[c]! /= n;
  return mean;
}

function subtractRow(x: Float32Array, n: number, d: number, row: Float64Array): Float32Array {
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let c = 0; c < d; c++) out[i * d + c] = x[i * d + c]! - row[c]!;
  return out;
}

/** In Float64 from the float32 values that the products will see. */
function rowSquaredNorms(x: Float32Array, n: number, d: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let c = 0; c < d; c++) s += x[i * d + c]! ** 2;
    out[i] = s;
  }
  return out;
}

function countSet(flags: Uint8Array): number {
  let count = 0;
  for (const f of flags) count += f;
  return count;
}

function assertNeighbourCount(k: number, nReal: number, nFake: number): void {
  if (!Number.isInteger(k) || k < 1 || nReal <= k || nFake <= k) {
    throw new UserError(
      `PRDC with k = ${k} needs more than k samples in each set and k ≥ 1; ` +
        `got ${nReal} real and ${nFake} generated`,
    );
  }
}
