/**
 * Dense symmetric eigen-decomposition in Float64, shared by the Fréchet distance (matrix square
 * roots of covariances) and PCA (the Rayleigh–Ritz step).
 */
export interface Eigen {
  /** Ascending. */
  values: Float64Array;
  /** d×d row-major; row j is the unit eigenvector of values[j] (empty when not asked for). */
  vectors: Float64Array;
}

/**
 * Eigen-decomposition of a symmetric matrix (d×d row-major; only read): Householder
 * tridiagonalisation then the implicit QL algorithm (tred2/tql2 of EISPACK, as in JAMA): O(d³)
 * with a small constant, where cyclic Jacobi needs many O(d³) sweeps. The textbook code walks
 * columns; it runs here on the transposed matrix (equal to the input, which is symmetric) so that
 * those walks are contiguous rows — several times faster at d = 512.
 */
export function symmetricEigen(a: Float64Array, d: number, wantVectors: boolean): Eigen {
  const v = Float64Array.from(a);
  const diag = new Float64Array(d);
  const off = new Float64Array(d);
  tridiagonalise(v, diag, off, d, wantVectors);
  diagonaliseTridiagonal(v, diag, off, d, wantVectors);
  return { values: diag, vectors: wantVectors ? v : new Float64Array(0) };
}

/** tred2: v holds the matrix on entry and the transposed Householder transforms on exit. */
function tridiagonalise(
  v: Float64Array,
  diag: Float64Array,
  off: Float64Array,
  n: number,
  wantVectors: boolean,
): void {
  for (let j = 0; j < n; j++) diag[j] = v[j * n + n - 1]!;
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(diag[k]!);
    if (scale === 0) {
      off[i] = diag[i - 1]!;
      for (let j = 0; j < i; j++) {
        diag[j] = v[j * n + i - 1]!;
        v[j * n + i] = 0;
        v[i * n + j] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        diag[k]! /= scale;
        h += diag[k]! * diag[k]!;
      }
      let f = diag[i - 1]!;
      let g = f > 0 ? -Math.sqrt(h) : Math.sqrt(h);
      off[i] = scale * g;
      h -= f * g;
      diag[i - 1] = f - g;
      for (let j = 0; j < i; j++) off[j] = 0;
      for (let j = 0; j < i; j++) {
        f = diag[j]!;
        v[i * n + j] = f;
        g = off[j]! + v[j * n + j]! * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += v[j * n + k]! * diag[k]!;
          off[k]! += v[j * n + k]! * f;
        }
        off[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        off[j]! /= h;
        f += off[j]! * diag[j]!;
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) off[j]! -= hh * diag[j]!;
      for (let j = 0; j < i; j++) {
        f = diag[j]!;
        g = off[j]!;
        for (let k = j; k <= i - 1; k++) v[j * n + k]! -= f * off[k]! + g * diag[k]!;
        diag[j] = v[j * n + i - 1]!;
        v[j * n + i] = 0;
      }
    }
    diag[i] = h;
  }
  if (wantVectors) accumulateTransforms(v, diag, n);
  else for (let j = 0; j < n; j++) diag[j] = v[j * n + j]!;
  off[0] = 0;
}

function accumulateTransforms(v: Float64Array, diag: Float64Array, n: number): void {
  for (let i = 0; i < n - 1; i++) {
    v[i * n + n - 1] = v[i * n + i]!;
    v[i * n + i] = 1;
    const h = diag[i + 1]!;
    const next = (i + 1) * n;
    if (h !== 0) {
      for (let k = 0; k <= i; k++) diag[k] = v[next + k]! / h;
      for (let j = 0; j <= i; j++) {
        const row = j * n;
        let g = 0;
        for (let k = 0; k <= i; k++) g += v[next + k]! * v[row + k]!;
        for (let k = 0; k <= i; k++) v[row + k]! -= g * diag[k]!;
      }
    }
    for (let k = 0; k <= i; k++) v[next + k] = 0;
  }
  for (let j = 0; j < n; j++) {
    diag[j] = v[j * n + n - 1]!;
    v[j * n + n - 1] = 0;
  }
  v[(n - 1) * n + n - 1] = 1;
}

/** tql2: eigenvalues of the tridiagonal (diag, off) into diag, ascending; rotations into v. */
function diagonaliseTridiagonal(
  v: Float64Array,
  diag: Float64Array,
  off: Float64Array,
  n: number,
  wantVectors: boolean,
): void {
  for (let i = 1; i < n; i++) off[i - 1] = off[i]!;
  off[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(diag[l]!) + Math.abs(off[l]!));
    let m = l;
    while (m < n - 1 && Math.abs(off[m]!) > eps * tst1) m++;
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > 100) throw new Error('symmetricEigen: QL iteration did not converge');
        let g = diag[l]!;
        let p = (diag[l + 1]! - g) / (2 * off[l]!);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        diag[l] = off[l]! / (p + r);
        diag[l + 1] = off[l]! * (p + r);
        const dl1 = diag[l + 1]!;
        let h = g - diag[l]!;
        for (let i = l + 2; i < n; i++) diag[i]! -= h;
        f += h;
        p = diag[m]!;
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = off[l + 1]!;
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * off[i]!;
          h = c * p;
          r = Math.hypot(p, off[i]!);
          off[i + 1] = s * r;
          s = off[i]! / r;
          c = p / r;
          p = c * diag[i]! - s * g;
          diag[i + 1] = h + s * (c * g + s * diag[i]!);
          if (wantVectors) {
            const cur = i * n;
            const next = cur + n;
            for (let k = 0; k < n; k++) {
              h = v[next + k]!;
              v[next + k] = s * v[cur + k]! + c * h;
              v[cur + k] = c * v[cur + k]! - s * h;
            }
          }
        }
        p = (-s * s2 * c3 * el1 * off[l]!) / dl1;
        off[l] = s * p;
        diag[l] = c * p;
      } while (Math.abs(off[l]!) > eps * tst1);
    }
    diag[l] = diag[l]! + f;
    off[l] = 0;
  }
  sortAscending(v, diag, n, wantVectors);
}

function sortAscending(v: Float64Array, diag: Float64Array, n: number, wantVectors: boolean): void {
  for (let i = 0; i < n - 1; i++) {
    let k = i;
    for (let j = i + 1; j < n; j++) if (diag[j]! < diag[k]!) k = j;
    if (k === i) continue;
    const t = diag[k]!;
    diag[k] = diag[i]!;
    diag[i] = t;
    if (!wantVectors) continue;
    for (let j = 0; j < n; j++) {
      const u = v[i * n + j]!;
      v[i * n + j] = v[k * n + j]!;
      v[k * n + j] = u;
    }
  }
}
