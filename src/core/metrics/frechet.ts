/**
 * Fréchet distance between Gaussians fitted to two feature sets (FID when the features are
 * Inception's; papers.md: offline we use a classifier trained on the data set, and say so).
 *
 *   ||μ1 − μ2||² + Tr(Σ1) + Tr(Σ2) − 2 Tr((Σ1 Σ2)^½)
 *
 * Σ1 Σ2 is not symmetric, and scipy's sqrtm on it (pytorch-fid) can return complex values or need
 * an ε offset when Σ is singular (fewer samples than dimensions). Here
 * Tr((Σ1 Σ2)^½) = Σ √λ(Σ1^½ Σ2 Σ1^½), a symmetric PSD matrix with the same eigenvalues, so two
 * symmetric eigen-decompositions suffice and rounding-level negative eigenvalues clamp to 0.
 * All accumulation is in Float64.
 */
import { symmetricEigen } from '../linalg/symmetricEigen';
import { UserError } from '../errors';
import { assertFinite, assertMatrix } from '../neighbours/cosineKnn';

export function frechetDistance(
  real: Float32Array,
  nReal: number,
  fake: Float32Array,
  nFake: number,
  d: number,
): number {
  assertMatrix('real features', real, nReal, d);
  assertMatrix('generated features', fake, nFake, d);
  if (nReal < 2 || nFake < 2) {
    throw new UserError(
      `Fréchet distance needs at least 2 samples per set to estimate a covariance; ` +
        `got ${nReal} real and ${nFake} generated`,
    );
  }
  assertFinite('real features', real, d);
  assertFinite('generated features', fake, d);

  const g1 = fitGaussian(real, nReal, d);
  const g2 = fitGaussian(fake, nFake, d);
  let meanTerm = 0;
  for (let c = 0; c < d; c++) meanTerm += (g1.mean[c]! - g2.mean[c]!) ** 2;
  const fd =
    meanTerm + trace(g1.cov, d) + trace(g2.cov, d) - 2 * traceSqrtProduct(g1.cov, g2.cov, d);
  // The true value is ≥ 0; identical sets otherwise come out as −1e-13 or so.
  return Math.max(0, fd);
}

export interface Gaussian {
  mean: Float64Array;
  /** d×d row-major, unbiased (n − 1), as numpy.cov in pytorch-fid. */
  cov: Float64Array;
}

/** Mean and unbiased covariance of the rows of `x` (n×d), accumulated in Float64. */
export function fitGaussian(x: Float32Array, n: number, d: number): Gaussian {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let c = 0; c < d; c++) mean[c]! += x[i * d + c]!;
  for (let c = 0; c < d; c++) mean[c]! /= n;

  // Upper triangle of Σ (x − μ)(x − μ)ᵀ, four samples per sweep: the inner loop is independent
  // multiply-adds over contiguous rows, and each load/store of Σ serves four samples.
  const cov = new Float64Array(d * d);
  const v = new Float64Array(4 * d);
  for (let i = 0; i < n; i += 4) {
    v.fill(0); // a last group of fewer than four samples leaves zero rows, adding nothing
    for (let s = 0; s < 4 && i + s < n; s++) {
      for (let c = 0; c < d; c++) v[s * d + c] = x[(i + s) * d + c]! - mean[c]!;
    }
    for (let a = 0; a < d; a++) {
      const v0 = v[a]!;
      const v1 = v[d + a]!;
      const v2 = v[2 * d + a]!;
      const v3 = v[3 * d + a]!;
      const row = a * d;
      for (let b = a; b < d; b++) {
        cov[row + b]! += v0 * v[b]! + v1 * v[d + b]! + v2 * v[2 * d + b]! + v3 * v[3 * d + b]!;
      }
    }
  }
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) {
      const value = cov[a * d + b]! / (n - 1);
      cov[a * d + b] = value;
      cov[b * d + a] = value;
    }
  }
  return { mean, cov };
}

/** Tr((AB)^½) for symmetric PSD A, B (d×d) as Σ √λ(A^½ B A^½). */
export function traceSqrtProduct(a: Float64Array, b: Float64Array, d: number): number {
  const { values, vectors } = symmetricEigen(a, d, true);
  // A^½ = Uᵀ diag(√λ) U (U's rows are the eigenvectors), rounding-level negative λ taken as 0.
  const scaled = new Float64Array(d * d);
  for (let j = 0; j < d; j++) {
    const root = Math.sqrt(Math.max(0, values[j]!));
    for (let c = 0; c < d; c++) scaled[j * d + c] = vectors[j * d + c]! * root;
  }
  const sqrtA = multiply(transpose(vectors, d), scaled, d);
  const m = multiply(multiply(sqrtA, b, d), sqrtA, d);
  symmetrise(m, d);
  let sum = 0;
  for (const lambda of symmetricEigen(m, d, false).values) sum += Math.sqrt(Math.max(0, lambda));
  return sum;
}

function multiply(a: Float64Array, b: Float64Array, d: number): Float64Array {
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let k = 0; k < d; k++) {
      const aik = a[i * d + k]!;
      if (aik === 0) continue;
      const bRow = k * d;
      const outRow = i * d;
      for (let j = 0; j < d; j++) out[outRow + j]! += aik * b[bRow + j]!;
    }
  }
  return out;
}

function transpose(a: Float64Array, d: number): Float64Array {
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) out[j * d + i] = a[i * d + j]!;
  return out;
}

function symmetrise(a: Float64Array, d: number): void {
  for (let i = 0; i < d; i++) {
    for (let j = i + 1; j < d; j++) {
      const mean = (a[i * d + j]! + a[j * d + i]!) / 2;
      a[i * d + j] = mean;
      a[j * d + i] = mean;
    }
  }
}

function trace(a: Float64Array, d: number): number {
  let t = 0;
  for (let i = 0; i < d; i++) t += a[i * d + i]!;
  return t;
}
