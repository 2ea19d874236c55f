import * as os from 'node:os';

/**
 * What every benchmark here needs around its measurements: its flags, progress on stderr (stdout
 * carries the tables), the median it reports and the machine's load it reports with it.
 */

/** The value after `--name`, or `fallback`. */
export function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** The 1, 5 and 15-minute load averages, e.g. "1.43, 1.61, 1.42". */
export function loadAvg(): string {
  return os
    .loadavg()
    .map((v) => v.toFixed(2))
    .join(', ');
}
