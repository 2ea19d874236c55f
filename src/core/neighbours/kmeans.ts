/**
 * Spherical (cosine) k-means: picks the representative instances shown in galleries, as the
 * official IC-GAN code does with k-means over its features (papers.md).
 */
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../errors';
import { Rng } from '../random/rng';
import {
  assertFinite,
  assertMatrix,
  defaultBlockCols,
  forEachDotBlock,
  type DotBlock,
} from './cosineKnn';

export interface KmeansResult {
  /** clusters×d row-major, unit norm (for L2-normalised input without zero rows). */
  centroids: Float32Array;
  /** Per sample, its cluster; no cluster is empty. */
  assignment: Int32Array;
  /** Per cluster, the member most similar to its centroid (smaller index on ties); distinct. */
  representatives: Int32Array;
  /** Assignment rounds run; less than maxIter when the assignment stopped changing. */
  iterations: number;
  converged: boolean;
}

/**
 * Cosine k-means over `features` (n×d, assumed L2-normalised) with k-means++ seeding from a PRNG
 * seeded by `seed`: the same inputs give the same result on every machine.
 */
export async function sphericalKmeans(
  features: Float32Array,
  n: number,
  d: number,
  clusters: number,
  seed: number,
  maxIter = 50,
): Promise<KmeansResult> {
  assertMatrix('features', features, n, d);
  if (!Number.isInteger(clusters) || clusters < 1 || clusters > n) {
    throw new UserError(
      `cannot make ${clusters} clusters from n = ${n} samples: need 1 ≤ clusters ≤ n`,
    );
  }
  if (!Number.isInteger(maxIter) || maxIter < 1) {
    throw new RangeError(`maxIter must be a positive integer, got ${maxIter}`);
  }
  assertFinite('features', features, d);

  // Uploaded once: seeding and every assignment round multiply the same samples.
  const rowsTensor = tf.tensor2d(features, [n, d]);
  try {
    const centroids = await seedCentroids(features, n, d, clusters, new Rng(seed), rowsTensor);
    let assignment: Int32Array = new Int32Array(n).fill(-1);
    let iterations = 0;
    let converged = false;
    while (iterations < maxIter) {
      iterations++;
      const next = await assignNearest(features, n, d, centroids, clusters, rowsTensor);
      fillEmptyClusters(next.assignment, next.similarity, clusters);
      if (sameAssignment(assignment, next.assignment)) {
        // The centroids are already the means of this assignment.
        converged = true;
        break;
      }
      assignment = next.assignment;
      updateCentroids(features, n, d, assignment, centroids, clusters);
    }
    const representatives = pickRepresentatives(features, n, d, assignment, centroids, clusters);
    return { centroids, assignment, representatives, iterations, converged };
  } finally {
    rowsTensor.dispose();
  }
}

/**
 * Greedy k-means++ (as scikit-learn does): each step draws a few candidates with probability ∝
 * cosine distance 1 − s to the nearest seed (half the squared Euclidean distance on the sphere, so
 * these are the usual D² weights) and keeps the one that lowers the total distance most. Plain
 * k-means++ too often puts two seeds in one tight cluster, which Lloyd iterations can't undo.
 */
async function seedCentroids(
  features: Float32Array,
  n: number,
  d: number,
  clusters: number,
  rng: Rng,
  rowsTensor: tf.Tensor2D,
): Promise<Float32Array> {
  const centroids = new Float32Array(clusters * d);
  const chosen = new Uint8Array(n);
  // Similarity of each sample to its most similar seed so far.
  const best = new Float64Array(n).fill(-Infinity);
  const trials = 2 + Math.floor(Math.log(clusters));
  let pick = rng.int(n);
  let pickSims = (await similaritiesTo(features, n, d, [pick], rowsTensor))[0]!;
  for (let c = 0; ; c++) {
    chosen[pick] = 1;
    centroids.set(features.subarray(pick * d, (pick + 1) * d), c * d);
    for (let i = 0; i < n; i++) best[i] = Math.max(best[i]!, pickSims[i]!);
    if (c === clusters - 1) return centroids;
    const candidates = drawCandidates(best, chosen, rng, trials);
    const sims = await similaritiesTo(features, n, d, candidates, rowsTensor);
    let bestCost = Infinity;
    candidates.forEach((candidate, t) => {
      const cost = potential(best, sims[t]!);
      if (cost < bestCost) {
        bestCost = cost;
        pick = candidate;
        pickSims = sims[t]!;
      }
    });
  }
}

/** Σ_i cosine distance to the nearest seed if a sample with similarities `sims` became a seed. */
function potential(best: Float64Array, sims: Float64Array): number {
  let total = 0;
  for (let i = 0; i < best.length; i++) total += Math.max(0, 1 - Math.max(best[i]!, sims[i]!));
  return total;
}

/**
 * `count` unchosen samples drawn with replacement ∝ distance to the nearest seed. Chosen samples
 * get weight 0, which keeps seeds distinct even when rounding leaves them a tiny distance.
 */
function drawCandidates(best: Float64Array, chosen: Uint8Array, rng: Rng, count: number): number[] {
  const n = best.length;
  const cumulative = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    if (!chosen[i]) total += Math.max(0, 1 - best[i]!);
    cumulative[i] = total;
  }
  if (total <= 0) {
    // Every remaining sample coincides with a seed: any of them is as good.
    let skip = rng.int(n - countSet(chosen));
    for (let i = 0; i < n; i++) if (!chosen[i] && skip-- === 0) return [i];
    throw new Error('unreachable: no unchosen sample left');
  }
  const out: number[] = [];
  for (let t = 0; t < count; t++) out.push(firstAbove(cumulative, rng.uniform() * total));
  return out;
}

/** Smallest i with cumulative[i] > u (u < the last value); that sample's weight is positive. */
function firstAbove(cumulative: Float64Array, u: number): number {
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cumulative[mid]! > u) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Per listed sample, its similarity to every sample. */
async function similaritiesTo(
  features: Float32Array,
  n: number,
  d: number,
  samples: number[],
  rowsTensor: tf.Tensor2D,
): Promise<Float64Array[]> {
  const cols = new Float32Array(samples.length * d);
  samples.forEach((s, t) => cols.set(features.subarray(s * d, (s + 1) * d), t * d));
  const out = samples.map(() => new Float64Array(n));
  const opts = { blockCols: samples.length, rowsTensor };
  await forEachDotBlock(features, n, cols, samples.length, d, opts, ({ dots }) => {
    for (let i = 0; i < n; i++) {
      for (let t = 0; t < samples.length; t++) out[t]![i] = dots[i * samples.length + t]!;
    }
  });
  return out;
}

interface Assignment {
  assignment: Int32Array;
  /** Each sample's similarity to its centroid. */
  similarity: Float64Array;
}

/** Most similar centroid per sample; ties go to the smaller cluster index. */
async function assignNearest(
  features: Float32Array,
  n: number,
  d: number,
  centroids: Float32Array,
  clusters: number,
  rowsTensor: tf.Tensor2D,
): Promise<Assignment> {
  const assignment = new Int32Array(n);
  const similarity = new Float64Array(n).fill(-Infinity);
  const opts = { blockCols: defaultBlockCols(n, clusters), rowsTensor };
  await forEachDotBlock(features, n, centroids, clusters, d, opts, (block: DotBlock) => {
    const { dots, colStart, colCount } = block;
    for (let i = 0; i < n; i++) {
      const base = i * colCount;
      for (let r = 0; r < colCount; r++) {
        const s = dots[base + r]!;
        if (s > similarity[i]!) {
          similarity[i] = s;
          assignment[i] = colStart + r;
        }
      }
    }
  });
  return { assignment, similarity };
}

/**
 * Gives each empty cluster the sample least similar to its own centroid among clusters that can
 * spare one — the usual repair, and what guarantees distinct representatives.
 */
function fillEmptyClusters(
  assignment: Int32Array,
  similarity: Float64Array,
  clusters: number,
): void {
  const counts = new Int32Array(clusters);
  for (const c of assignment) counts[c]!++;
  for (let c = 0; c < clusters; c++) {
    if (counts[c]! > 0) continue;
    let worst = -1;
    for (let i = 0; i < assignment.length; i++) {
      if (counts[assignment[i]!]! > 1 && (worst < 0 || similarity[i]! < similarity[worst]!)) {
        worst = i;
      }
    }
    counts[assignment[worst]!]!--;
    assignment[worst] = c;
    counts[c] = 1;
  }
}

/** Means accumulated in Float64, then projected back onto the sphere. */
function updateCentroids(
  features: Float32Array,
  n: number,
  d: number,
  assignment: Int32Array,
  centroids: Float32Array,
  clusters: number,
): void {
  const sums = new Float64Array(clusters * d);
  for (let i = 0; i < n; i++) {
    const to = assignment[i]! * d;
    for (let c = 0; c < d; c++) sums[to + c]! += features[i * d + c]!;
  }
  for (let k = 0; k < clusters; k++) {
    let sq = 0;
    for (let c = 0; c < d; c++) sq += sums[k * d + c]! ** 2;
    // Members that cancel out (e.g. antipodal pairs) have no mean direction; keep the old one.
    if (sq === 0) continue;
    const inv = 1 / Math.sqrt(sq);
    for (let c = 0; c < d; c++) centroids[k * d + c] = sums[k * d + c]! * inv;
  }
}

function pickRepresentatives(
  features: Float32Array,
  n: number,
  d: number,
  assignment: Int32Array,
  centroids: Float32Array,
  clusters: number,
): Int32Array {
  const reps = new Int32Array(clusters).fill(-1);
  const best = new Float64Array(clusters).fill(-Infinity);
  for (let i = 0; i < n; i++) {
    const c = assignment[i]!;
    const s = dotRows(features, i, centroids, c, d);
    if (s > best[c]!) {
      best[c] = s;
      reps[c] = i;
    }
  }
  return reps;
}

function dotRows(a: Float32Array, i: number, b: Float32Array, j: number, d: number): number {
  let s = 0;
  const ai = i * d;
  const bj = j * d;
  for (let c = 0; c < d; c++) s += a[ai + c]! * b[bj + c]!;
  return s;
}

function sameAssignment(a: Int32Array, b: Int32Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function countSet(flags: Uint8Array): number {
  let count = 0;
  for (const f of flags) count += f;
  return count;
}
