/**
 * training.lrDecay: the step-size multiplier for the update that follows `done` completed steps
 * of a `steps`-step run. Constant, then a straight fall to 0 over the last `decay` of the run:
 * at this scale a GAN's last few hundred steps at full step size mostly add noise to G, and
 * annealing them away lowers the Fréchet distance of the final samples (docs/sample-quality.md).
 * bench/mirror/train.py computes the same.
 */
export function lrScaleAt(done: number, steps: number, decay: number): number {
  if (decay <= 0 || steps <= 0) return 1;
  const start = steps * (1 - decay);
  if (done < start) return 1;
  return Math.max(0, (steps - done) / (steps - start));
}
