/** Step durations: a recent average for images/s and the ETA, a median for run.json. */
export class StepTimer {
  private began = 0;
  private readonly durations: number[] = [];
  private recent = 0;

  start(): void {
    this.began = performance.now();
  }

  stop(): void {
    const ms = performance.now() - this.began;
    this.durations.push(ms);
    // An exponential average follows speed changes (e.g. the first, slower steps) within ~20 steps.
    this.recent = this.durations.length === 1 ? ms : 0.9 * this.recent + 0.1 * ms;
  }

  recentSeconds(): number {
    return this.recent / 1000;
  }

  totalSeconds(): number {
    return this.durations.reduce((a, b) => a + b, 0) / 1000;
  }

  medianMs(): number | undefined {
    if (this.durations.length === 0) return undefined;
    const sorted = [...this.durations].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)];
  }
}
