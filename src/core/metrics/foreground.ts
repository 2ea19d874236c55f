/**
 * How much of an image is "something" rather than background: the share of pixels that a smooth
 * background does not explain. A generator that has collapsed onto empty backgrounds (the most
 * common failure on the shapes data) scores near 0 here while every real image scores well above.
 *
 * The background is a linear gradient per channel, a + b·x + c·y (the shapes' backgrounds are
 * solid or linear gradients; Fashion-MNIST's is black), fitted by least squares and refitted on
 * the pixels it already explains, so a large object does not drag the fit towards itself.
 */

/** RGB distance (channels in [-1, 1]) beyond which a pixel is not background. */
export const FOREGROUND_DISTANCE = 0.5;
const REFITS = 2;

/** Per image, the share of pixels farther than `distance` from the fitted background. */
export function foregroundShares(
  pixels: Float32Array,
  n: number,
  side: number,
  channels: number,
  distance = FOREGROUND_DISTANCE,
): Float32Array {
  const out = new Float32Array(n);
  const area = side * side;
  const size = area * channels;
  const inlier = new Uint8Array(area);
  const coef = new Float64Array(channels * 3);
  for (let i = 0; i < n; i++) {
    const img = pixels.subarray(i * size, (i + 1) * size);
    inlier.fill(1);
    let outliers = 0;
    for (let pass = 0; pass <= REFITS; pass++) {
      fitPlanes(img, side, channels, inlier, coef);
      outliers = 0;
      for (let p = 0; p < area; p++) {
        const x = (p % side) - (side - 1) / 2;
        const y = Math.floor(p / side) - (side - 1) / 2;
        let d2 = 0;
        for (let c = 0; c < channels; c++) {
          const bg = coef[c * 3]! + coef[c * 3 + 1]! * x + coef[c * 3 + 2]! * y;
          d2 += (img[p * channels + c]! - bg) ** 2;
        }
        const far = d2 > distance * distance;
        inlier[p] = far ? 0 : 1;
        if (far) outliers++;
      }
      // Nothing left to fit the background on: the whole image is "object".
      if (outliers === area) break;
    }
    out[i] = outliers / area;
  }
  return out;
}

/** Least-squares a + b·x + c·y per channel over the inlier pixels (centred coordinates). */
function fitPlanes(
  img: Float32Array,
  side: number,
  channels: number,
  inlier: Uint8Array,
  coef: Float64Array,
): void {
  // Normal equations of a 3-parameter linear model; solved by Cramer's rule.
  let s1 = 0;
  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let syy = 0;
  let sxy = 0;
  const sv = new Float64Array(channels * 3);
  for (let p = 0; p < side * side; p++) {
    if (!inlier[p]) continue;
    const x = (p % side) - (side - 1) / 2;
    const y = Math.floor(p / side) - (side - 1) / 2;
    s1++;
    sx += x;
    sy += y;
    sxx += x * x;
    syy += y * y;
    sxy += x * y;
    for (let c = 0; c < channels; c++) {
      const v = img[p * channels + c]!;
      sv[c * 3] = sv[c * 3]! + v;
      sv[c * 3 + 1] = sv[c * 3 + 1]! + v * x;
      sv[c * 3 + 2] = sv[c * 3 + 2]! + v * y;
    }
  }
  const det =
    s1 * (sxx * syy - sxy * sxy) - sx * (sx * syy - sxy * sy) + sy * (sx * sxy - sxx * sy);
  for (let c = 0; c < channels; c++) {
    const [v0, vx, vy] = [sv[c * 3]!, sv[c * 3 + 1]!, sv[c * 3 + 2]!];
    if (Math.abs(det) < 1e-9) {
      // Too few (or collinear) inliers for a gradient: a constant background.
      coef[c * 3] = s1 > 0 ? v0 / s1 : 0;
      coef[c * 3 + 1] = 0;
      coef[c * 3 + 2] = 0;
      continue;
    }
    coef[c * 3] =
      (v0 * (sxx * syy - sxy * sxy) - sx * (vx * syy - sxy * vy) + sy * (vx * sxy - sxx * vy)) /
      det;
    coef[c * 3 + 1] =
      (s1 * (vx * syy - sxy * vy) - v0 * (sx * syy - sxy * sy) + sy * (sx * vy - vx * sy)) / det;
    coef[c * 3 + 2] =
      (s1 * (sxx * vy - vx * sxy) - sx * (sx * vy - vx * sy) + v0 * (sx * sxy - sxx * sy)) / det;
  }
}

/**
 * The share below which an image counts as blank: a quarter of the smallest object real images
 * have (their 1st percentile, so a few odd real images don't set it), calibrated on the data.
 */
export function blankThreshold(realShares: Float32Array): number {
  const sorted = Float32Array.from(realShares).sort();
  const p1 = sorted[Math.floor(sorted.length * 0.01)] ?? 0;
  return p1 / 4;
}

export function shareBelow(shares: Float32Array, threshold: number): number {
  let k = 0;
  for (const s of shares) if (s < threshold) k++;
  return shares.length > 0 ? k / shares.length : 0;
}
