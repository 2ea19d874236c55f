import { SingleBar } from 'cli-progress';
import { runEventText } from '../core/run/runEventText';
import type { RunEvent, RunStartedEvent } from '../protocol/runnerEvents';

export type OutputMode = 'json' | 'tty' | 'plain';

/**
 * Shows training events on a terminal: a progress bar with losses and ETA on a TTY, one line per
 * event otherwise (CI logs), or the raw events as JSON lines for scripts (`--json`).
 */
export class ProgressReporter {
  private bar: SingleBar | null = null;

  constructor(private readonly mode: OutputMode) {}

  handle(e: RunEvent): void {
    if (this.mode === 'json') {
      process.stdout.write(`${JSON.stringify(e)}\n`);
      return;
    }
    switch (e.type) {
      case 'run-started':
        this.line(
          `${e.resumed ? 'resuming' : 'training'} ${e.model} in ${e.runDir} (${backendLabel(e.backend)}; ` +
            `G ${e.parameters.generator.toLocaleString('en')} / D ${e.parameters.discriminator.toLocaleString('en')} parameters)`,
        );
        if (this.mode === 'tty') this.startBar(e.startStep, e.totalSteps);
        break;
      case 'step':
        if (this.bar) {
          this.bar.update(e.step, {
            d: e.dLoss.toFixed(3),
            g: e.gLoss.toFixed(3),
            ips: e.imagesPerSec.toFixed(0),
            eta: formatSeconds(e.etaSeconds),
          });
        } else {
          this.line(
            `step ${e.step}/${e.totalSteps}  D ${e.dLoss.toFixed(4)}  G ${e.gLoss.toFixed(4)}  ` +
              `D(x) ${e.dReal.toFixed(3)}  D(G(z)) ${e.dFake.toFixed(3)}  ${e.imagesPerSec.toFixed(0)} img/s  ETA ${formatSeconds(e.etaSeconds)}`,
          );
        }
        break;
      case 'samples':
        if (!this.bar) this.line(`samples: ${e.file}`);
        break;
      case 'gallery':
        if (!this.bar) this.line(`gallery: ${e.file}`);
        break;
      case 'diversity':
        if (!this.bar) this.line(runEventText(e) ?? '');
        break;
      case 'checkpoint':
        if (!this.bar) this.line(`checkpoint: ${e.file}`);
        break;
      case 'log':
        this.line(e.level === 'info' ? e.message : `${e.level}: ${e.message}`);
        break;
      case 'run-ended':
        this.bar?.stop();
        this.bar = null;
        this.line(`${e.status} at step ${e.step}${e.message ? `: ${e.message}` : ''}`);
        break;
    }
  }

  private startBar(start: number, total: number): void {
    this.bar = new SingleBar({
      format: 'step {value}/{total} [{bar}] {percentage}% | D {d} G {g} | {ips} img/s | ETA {eta}',
      barsize: 24,
      hideCursor: true,
      stream: process.stderr,
    });
    this.bar.start(total, start, { d: '-', g: '-', ips: '-', eta: '-' });
  }

  private line(text: string): void {
    // Logging above a live bar: clear its line first so the two don't interleave.
    if (this.bar) process.stderr.write('\r\x1b[2K');
    process.stderr.write(`${text}\n`);
  }
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const t = Math.round(s);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = t % 60;
  return h > 0
    ? `${h}h${String(m).padStart(2, '0')}m`
    : m > 0
      ? `${m}m${String(sec).padStart(2, '0')}s`
      : `${sec}s`;
}

/** "webgpu on NVIDIA · ampere · …", the backend with its GPU adapter when it has one. */
function backendLabel(b: RunStartedEvent['backend']): string {
  const a = b.adapter;
  if (!a) return b.name;
  const named = [a.vendor, a.architecture, a.description].filter(Boolean).join(' · ');
  return `${b.name} on ${named || 'an unnamed adapter'}${a.software ? ' (software)' : ''}`;
}
