/**
 * Exponential-moving-average smoothing of loss curves, debiased the way TensorBoard does it: the
 * running average starts at 0 and is divided by (1 - weight^n), so the first points are not
 * dragged towards zero and a constant series stays constant. Pure; no DOM.
 */

/** Largest smoothing weight the dashboard offers (1 would freeze the curve at its first value). */
export const MAX_SMOOTHING = 0.99;

/** Clamps a smoothing weight into [0, MAX_SMOOTHING]; anything not a finite number reads as 0. */
export function clampSmoothing(weight: number): number {
  if (!Number.isFinite(weight)) return 0;
  return Math.min(MAX_SMOOTHING, Math.max(0, weight));
}

/**
 * Incremental smoother: push values one at a time (cheap appends while a run streams steps).
 * Non-finite values (NaN, ±Infinity: a diverged step) yield null — a gap in the chart — and do not
 * enter the average, so one bad step does not poison the rest of the curve.
 */
export class EmaSmoother {
  readonly weight: number;
  private average = 0;
  private count = 0;

  constructor(weight: number) {
    this.weight = clampSmoothing(weight);
  }

  push(value: number): number | null {
    if (!Number.isFinite(value)) return null;
    if (this.weight === 0) return value;
    this.average = this.average * this.weight + (1 - this.weight) * value;
    this.count++;
    return this.average / (1 - Math.pow(this.weight, this.count));
  }
}

/** Smooths a whole series; weight 0 returns the values unchanged (non-finite ones as null). */
export function smooth(values: readonly number[], weight: number): (number | null)[] {
  const ema = new EmaSmoother(weight);
  return values.map((v) => ema.push(v));
}
