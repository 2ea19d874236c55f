/**
 * How much a set of images varies: the mean over pixels (and channels) of the per-pixel standard
 * deviation across the set, in grey levels (0–255). Samples that share a condition (a class, an
 * instance) but not a noise vector should vary about as much as the real images that share it —
 * a class's members, an instance's neighbours. A generator that ignores z scores a fraction of it.
 */
export function pixelSpread(images: Float32Array, n: number): number {
  if (n < 2) return 0;
  const size = images.length / n;
  let total = 0;
  for (let p = 0; p < size; p++) {
    let sum = 0;
    let sq = 0;
    for (let i = 0; i < n; i++) {
      const v = images[i * size + p]!;
      sum += v;
      sq += v * v;
    }
    // The sample (n − 1) variance, so sets of different sizes (5 neighbours, 16 samples) compare.
    total += Math.sqrt(Math.max(0, (sq - (sum * sum) / n) / (n - 1)));
  }
  // Images are in [-1, 1]: one grey level is 2/255.
  return (total / size) * 127.5;
}
