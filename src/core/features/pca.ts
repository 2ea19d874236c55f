/**
 * Principal components of image data (d up to a few thousand) by randomized subspace iteration
 * (Halko, Martinsson & Tropp 2011): the d × d covariance is never formed. Each iteration
 * multiplies a d × l basis by XᵀX through two tfjs matMuls, and the small dense linear algebra
 * (orthonormalisation, an l × l eigenproblem) runs in Float64 JS. The starting basis comes from
 * the caller's seeded Rng, so a seed fixes the result.
 */
import { symmetricEigen } from '../linalg/symmetricEigen';
import * as tf from '@tensorflow/tfjs-core';
import { takeFloats } from '../backend/tensorRead';
import type { Rng } from '../random/rng';

/** Extra basis vectors beyond k: they make the top k converge faster and more reliably. */
const OVERSAMPLE = 10;
/** A column this small after orthogonalisation carries no new direction: redraw it. */
const DEPENDENT_COLUMN = 1e-10;

export interface PcaResult {
  /** Per-dimension mean of the fitting data, d. */
  mean: Float32Array;
  /** d × k row-major; column j is the j-th principal direction (unit length). */
  components: Float32Array;
  /** Variance of the data along each component (covariance eigenvalues, n − 1), descending. */
  variances: Float64Array;
  /** Total variance (trace of the covariance), so variances / total is the explained ratio. */
  totalVariance: number;
}

/** Top `k` principal components of `x` (n × d row-major), n ≥ 2, 1 ≤ k ≤ min(d, n − 1). */
export async function fitPca(
  x: Float32Array,
  n: number,
  d: number,
  k: number,
  opts: { iterations: number; rng: Rng },
): Promise<PcaResult> {
  if (x.length !== n * d)
    throw new RangeError(`fitPca: expected ${n}×${d} values, got ${x.length}`);
  if (!Number.isInteger(k) || k < 1 || k > Math.min(d, n - 1)) {
    throw new RangeError(`fitPca: k = ${k} must be in 1..min(d = ${d}, n − 1 = ${n - 1})`);
  }
  const { mean, centred, totalSquares } = centre(x, n, d);
  const l = Math.min(k + OVERSAMPLE, d, n);
  const rows = tf.tensor2d(centred, [n, d]);
  const rowsT = tf.transpose(rows);
  try {
    // Plain (untransposed) matMuls: tfjs-wasm runs transposed ones on a scalar path.
    const times = (q: Float64Array): Promise<Float32Array> =>
      takeFloats(
        tf.tidy(() => tf.matMul(rowsT, tf.matMul(rows, tf.tensor2d(Float32Array.from(q), [d, l])))),
      );
    let basis = orthonormalColumns(Float64Array.from(opts.rng.normals(d * l)), d, l, opts.rng);
    for (let it = 0; it < opts.iterations; it++) {
      basis = orthonormalColumns(Float64Array.from(await times(basis)), d, l, opts.rng);
    }
    // Rayleigh–Ritz: the covariance restricted to the basis, Qᵀ(XᵀX)Q / (n − 1).
    const product = await times(basis);
    const small = new Float64Array(l * l);
    for (let a = 0; a < l; a++) {
      for (let b = 0; b < l; b++) {
        let s = 0;
        for (let r = 0; r < d; r++) s += basis[r * l + a]! * product[r * l + b]!;
        small[a * l + b] = s / (n - 1);
      }
    }
    symmetrise(small, l);
    // Ascending eigenvalues, eigenvectors as rows: component j is row l − 1 − j.
    const { values, vectors } = symmetricEigen(small, l, true);
    const components = new Float32Array(d * k);
    for (let j = 0; j < k; j++) {
      const row = l - 1 - j;
      const column = new Float64Array(d);
      for (let r = 0; r < d; r++) {
        let s = 0;
        for (let a = 0; a < l; a++) s += basis[r * l + a]! * vectors[row * l + a]!;
        column[r] = s;
      }
      fixSign(column);
      for (let r = 0; r < d; r++) components[r * k + j] = column[r]!;
    }
    return {
      mean,
      components,
      variances: values
        .slice(l - k)
        .reverse()
        .map((v) => Math.max(0, v)),
      totalVariance: totalSquares / (n - 1),
    };
  } finally {
    tf.dispose([rows, rowsT]);
  }
}

function centre(
  x: Float32Array,
  n: number,
  d: number,
): { mean: Float32Array; centred: Float32Array; totalSquares: number } {
  const sum = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let c = 0; c < d; c++) sum[c]! += x[i * d + c]!;
  const mean = new Float32Array(d);
  for (let c = 0; c < d; c++) mean[c] = sum[c]! / n;
  const centred = new Float32Array(n * d);
  let totalSquares = 0;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < d; c++) {
      const v = x[i * d + c]! - mean[c]!;
      centred[i * d + c] = v;
      totalSquares += v * v;
    }
  }
  return { mean, centred, totalSquares };
}

/**
 * Modified Gram–Schmidt, run twice ("twice is enough" for float64 orthogonality), on the
 * columns of a d × l row-major matrix. Dependent columns (data of rank < l) are replaced by
 * fresh random directions so the basis always spans l dimensions.
 */
export function orthonormalColumns(m: Float64Array, d: number, l: number, rng: Rng): Float64Array {
  const cols: Float64Array[] = [];
  for (let j = 0; j < l; j++) {
    const v = new Float64Array(d);
    for (let r = 0; r < d; r++) v[r] = m[r * l + j]!;
    const scale = norm(v);
    for (let attempt = 0; ; attempt++) {
      for (let pass = 0; pass < 2; pass++) {
        for (const u of cols) {
          const dot = dotProduct(u, v);
          for (let r = 0; r < d; r++) v[r]! -= dot * u[r]!;
        }
      }
      const len = norm(v);
      if (len > DEPENDENT_COLUMN * Math.max(scale, 1e-300) && len > 0) {
        for (let r = 0; r < d; r++) v[r]! /= len;
        break;
      }
      if (attempt > 8) throw new Error('orthonormalColumns: cannot complete the basis');
      for (let r = 0; r < d; r++) v[r] = rng.normal();
    }
    cols.push(v);
  }
  const out = new Float64Array(d * l);
  cols.forEach((v, j) => {
    for (let r = 0; r < d; r++) out[r * l + j] = v[r]!;
  });
  return out;
}

function symmetrise(m: Float64Array, l: number): void {
  for (let a = 0; a < l; a++) {
    for (let b = a + 1; b < l; b++) {
      const s = (m[a * l + b]! + m[b * l + a]!) / 2;
      m[a * l + b] = s;
      m[b * l + a] = s;
    }
  }
}

/** A direction's sign is arbitrary; fixing it (largest entry positive) makes outputs stable. */
function fixSign(v: Float64Array): void {
  let best = 0;
  for (let r = 1; r < v.length; r++) if (Math.abs(v[r]!) > Math.abs(v[best]!)) best = r;
  if (v[best]! < 0) for (let r = 0; r < v.length; r++) v[r] = -v[r]!;
}

function dotProduct(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let r = 0; r < a.length; r++) s += a[r]! * b[r]!;
  return s;
}

function norm(v: Float64Array): number {
  return Math.sqrt(dotProduct(v, v));
}
