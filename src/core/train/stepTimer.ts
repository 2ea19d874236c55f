/**
 * Step durations: a recent average for images/s and the ETA, a median of the latest steps for
 * run.json. Bounded memory: a run of millions of steps keeps only the window.
 */
const MEDIAN_WINDOW = 1000;

export class StepTimer {
  private began = 0;
  private readonly window: number[] = [];
  private next = 0;
  private count = 0;
  private totalMs = 0;
  private recent = 0;

  start(): void {
    this.began = performance.now();
  }

  stop(): void {
    const ms = performance.now() - this.began;
    this.totalMs += ms;
    this.count++;
    if (this.window.length < MEDIAN_WINDOW) this.window.push(ms);
    else this.window[this.next] = ms;
    this.next = (this.next + 1) % MEDIAN_WINDOW;
    // An exponential average follows speed changes (e.g. the first, slower steps) within ~20 steps.
    this.recent = this.count === 1 ? ms : 0.9 * this.recent + 0.1 * ms;
  }

  recentSeconds(): number {
    return this.recent / 1000;
  }

  totalSeconds(): number {
    return this.totalMs / 1000;
  }

  /** Median of the last MEDIAN_WINDOW steps. */
  medianMs(): number | undefined {
    if (this.window.length === 0) return undefined;
    const sorted = [...this.window].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)];
  }
}
