import { symmetricEigen } from '../../src/core/linalg/symmetricEigen';
import * as assert from 'assert';
import { fitGaussian, frechetDistance, traceSqrtProduct } from '../../src/core/metrics/frechet';
import { UserError } from '../../src/core/errors';
import { Rng } from '../../src/core/random/rng';

/** Rows of the Sylvester–Hadamard matrix of size 2^m: ±1 entries, orthogonal columns. */
function hadamard(m: number): number[][] {
  let h = [[1]];
  for (let i = 0; i < m; i++)
    h = [...h.map((r) => [...r, ...r]), ...h.map((r) => [...r, ...r.map((v) => -v)])];
  return h;
}

/**
 * n = 2^m samples whose sample mean is exactly `mean` and whose sample covariance is exactly
 * diag(scale²)·n/(n − 1): x_i = mean + scale ⊙ H[i, 1..d]. Columns 1.. of H sum to zero and are
 * mutually orthogonal with squared norm n. Dyadic values keep every entry exact in float32.
 */
function designedSet(m: number, mean: number[], scale: number[]): Float32Array {
  const h = hadamard(m);
  const d = mean.length;
  const out = new Float32Array(h.length * d);
  h.forEach((row, i) => {
    for (let c = 0; c < d; c++) out[i * d + c] = mean[c]! + scale[c]! * row[c + 1]!;
  });
  return out;
}

function correlatedGaussian(rng: Rng, n: number, d: number, shift: number): Float32Array {
  const mix = rng.normals(d * d);
  const z = rng.normals(n * d);
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      let s = shift;
      for (let c = 0; c < d; c++) s += (z[i * d + c]! * mix[c * d + j]!) / Math.sqrt(d);
      out[i * d + j] = s;
    }
  }
  return out;
}

/** A random orthogonal d×d matrix (Gram–Schmidt on Gaussian columns), row-major. */
function randomRotation(rng: Rng, d: number): Float64Array {
  const q = Float64Array.from(rng.normals(d * d));
  for (let j = 0; j < d; j++) {
    for (let p = 0; p < j; p++) {
      let dot = 0;
      for (let i = 0; i < d; i++) dot += q[i * d + j]! * q[i * d + p]!;
      for (let i = 0; i < d; i++) q[i * d + j]! -= dot * q[i * d + p]!;
    }
    let norm = 0;
    for (let i = 0; i < d; i++) norm += q[i * d + j]! ** 2;
    for (let i = 0; i < d; i++) q[i * d + j]! /= Math.sqrt(norm);
  }
  return q;
}

function rotate(x: Float32Array, n: number, d: number, q: Float64Array): Float32Array {
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      let s = 0;
      for (let c = 0; c < d; c++) s += x[i * d + c]! * q[c * d + j]!;
      out[i * d + j] = s;
    }
  }
  return out;
}

describe('frechetDistance', () => {
  it('is ~0 for identical sets, also with fewer samples than dimensions', () => {
    const rng = new Rng(1);
    for (const [n, d] of [
      [500, 16],
      [40, 64],
    ] as const) {
      const x = correlatedGaussian(rng, n, d, 0.5);
      const fd = frechetDistance(x, n, x.slice(), n, d);
      assert.ok(fd >= 0 && fd < 1e-8, `n=${n} d=${d}: ${fd}`);
    }
  });

  it('equals the closed form for diagonal covariances', () => {
    // Commuting diagonal covariances: Tr((Σ1Σ2)^½) = Σ σ1σ2, so
    // FD = |μ1 − μ2|² + Σ (σ1 − σ2)², with σ² = scale²·n/(n − 1) for the designed sets.
    const m = 6; // 64 samples
    const n = 2 ** m;
    const mean1 = [0, 1, -2, 0.5, 3];
    const mean2 = [1, 1, 0, -0.5, 3];
    const scale1 = [1, 2, 0.5, 1, 4];
    const scale2 = [2, 2, 1, 0.25, 1];
    const d = mean1.length;
    let expected = 0;
    for (let c = 0; c < d; c++) {
      expected += (mean1[c]! - mean2[c]!) ** 2 + ((scale1[c]! - scale2[c]!) ** 2 * n) / (n - 1);
    }
    // = 1 + 0 + 4 + 1 + 0 + (1 + 0 + 0.25 + 0.5625 + 9)·64/63
    const fd = frechetDistance(
      designedSet(m, mean1, scale1),
      n,
      designedSet(m, mean2, scale2),
      n,
      d,
    );
    assert.ok(Math.abs(fd - expected) < 1e-10 * expected, `${fd} vs ${expected}`);
  });

  it('matches the 2-D closed form for non-commuting covariances', () => {
    // For 2×2 PSD A, B the eigenvalues λ1, λ2 of AB give
    // Tr((AB)^½) = √λ1 + √λ2 = √(Tr(AB) + 2√(det A · det B)).
    const rng = new Rng(2);
    const n = 300;
    const a = correlatedGaussian(rng, n, 2, 0);
    const b = correlatedGaussian(rng, n, 2, 1);
    const ga = fitGaussian(a, n, 2);
    const gb = fitGaussian(b, n, 2);
    const [a00, a01, , a11] = ga.cov as unknown as [number, number, number, number];
    const [b00, b01, , b11] = gb.cov as unknown as [number, number, number, number];
    const trAB = a00 * b00 + 2 * a01 * b01 + a11 * b11;
    const det = (a00 * a11 - a01 * a01) * (b00 * b11 - b01 * b01);
    const traceSqrt = Math.sqrt(trAB + 2 * Math.sqrt(det));
    assert.ok(Math.abs(a01) > 0.1 * Math.sqrt(a00 * a11), 'covariances are not diagonal');
    const meanTerm = (ga.mean[0]! - gb.mean[0]!) ** 2 + (ga.mean[1]! - gb.mean[1]!) ** 2;
    const expected = meanTerm + a00 + a11 + b00 + b11 - 2 * traceSqrt;
    assert.ok(Math.abs(traceSqrtProduct(ga.cov, gb.cov, 2) - traceSqrt) < 1e-12 * traceSqrt);
    assert.ok(Math.abs(frechetDistance(a, n, b, n, 2) - expected) < 1e-10 * expected);
  });

  it('matches pytorch-fid (scipy sqrtm) on a fixed non-diagonal example', () => {
    // Reference (tied to Rng(2)’s stream): the arrays below written to disk and run through pytorch-fid's
    // calculate_frechet_distance (numpy.cov, scipy.linalg.sqrtm) gave 42.698993673226454.
    const rng = new Rng(2);
    const d = 64;
    const a = correlatedGaussian(rng, 500, d, 0);
    const b = correlatedGaussian(rng, 400, d, 0.3);
    const fd = frechetDistance(a, 500, b, 400, d);
    assert.ok(Math.abs(fd - 42.698993673226454) < 1e-9, `${fd}`);
  });

  it('is invariant under a rotation of the feature space', () => {
    const rng = new Rng(3);
    const d = 24;
    const a = correlatedGaussian(rng, 400, d, 0);
    const b = correlatedGaussian(rng, 300, d, 0.2);
    const q = randomRotation(rng, d);
    const fd = frechetDistance(a, 400, b, 300, d);
    const rotated = frechetDistance(rotate(a, 400, d, q), 400, rotate(b, 300, d, q), 300, d);
    // Float32 storage of the rotated features limits agreement to ~1e-6 relative.
    assert.ok(Math.abs(fd - rotated) < 1e-5 * fd, `${fd} vs ${rotated}`);
  });

  it('rejects sets too small for a covariance with a UserError', () => {
    const x = new Float32Array([1, 2, 3, 4]);
    assert.throws(() => frechetDistance(x, 2, x.subarray(0, 2), 1, 2), UserError);
  });
});

describe('symmetricEigen', () => {
  it('decomposes a random symmetric matrix: A = Uᵀ diag(λ) U, U orthogonal, λ ascending', () => {
    const rng = new Rng(4);
    const d = 40;
    const a = new Float64Array(d * d);
    for (let i = 0; i < d; i++) {
      for (let j = 0; j <= i; j++) {
        const v = rng.normal();
        a[i * d + j] = v;
        a[j * d + i] = v;
      }
    }
    const { values, vectors } = symmetricEigen(a, d, true);
    for (let i = 1; i < d; i++) assert.ok(values[i - 1]! <= values[i]!, 'ascending');
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) {
        let rebuilt = 0;
        let gram = 0;
        for (let k = 0; k < d; k++) {
          rebuilt += vectors[k * d + i]! * values[k]! * vectors[k * d + j]!;
          gram += vectors[i * d + k]! * vectors[j * d + k]!;
        }
        assert.ok(Math.abs(rebuilt - a[i * d + j]!) < 1e-12, 'reconstruction');
        assert.ok(Math.abs(gram - (i === j ? 1 : 0)) < 1e-12, 'orthonormal rows');
      }
    }
    const valuesOnly = symmetricEigen(a, d, false).values;
    for (let i = 0; i < d; i++) assert.ok(Math.abs(valuesOnly[i]! - values[i]!) < 1e-12);
  });

  it('handles diagonal and rank-deficient matrices', () => {
    const diag = Float64Array.from([3, 0, 0, 0, 1, 0, 0, 0, 2]);
    assert.deepStrictEqual([...symmetricEigen(diag, 3, false).values], [1, 2, 3]);
    // uuᵀ with u = (1, 2, 2): eigenvalues 0, 0, 9.
    const u = [1, 2, 2];
    const rank1 = Float64Array.from({ length: 9 }, (_, i) => u[Math.floor(i / 3)]! * u[i % 3]!);
    const values = symmetricEigen(rank1, 3, false).values;
    assert.ok(Math.abs(values[0]!) < 1e-12 && Math.abs(values[1]!) < 1e-12);
    assert.ok(Math.abs(values[2]! - 9) < 1e-12);
  });
});
