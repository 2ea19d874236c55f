import {
  handleRunEvent,
  type DiversityEvent,
  type LogEvent,
  type RunEvent,
  type RunEventHandlers,
} from '../../protocol/runnerEvents';

/**
 * The text of runner events, written once for every reader: the dashboard's log, the editor's
 * Output channel and the CLI's lines for one-shot jobs. No VS Code, no TensorFlow.
 */

/** A log event as a line: info as it is, warnings and errors prefixed with their level. */
export function logText(e: LogEvent): string {
  return e.level === 'info' ? e.message : `${e.level}: ${e.message}`;
}

/** The collapse watch's reading: "variety: samples vary 78 % as much as the data (lowest: …)". */
export function diversityText(e: DiversityEvent): string {
  const pct = (v: number): string => `${Math.round(100 * v)} %`;
  const lowest = [...e.groups].sort((a, b) => a.ratio - b.ratio)[0];
  return (
    `variety: samples vary ${pct(e.median)} as much as the data` +
    (lowest && e.groups.length > 1 ? ` (lowest: ${lowest.name} ${pct(lowest.ratio)})` : '') +
    (e.collapsed.length ? `; collapsed: ${e.collapsed.join(', ')}` : '')
  );
}

const TEXT: RunEventHandlers<string | null> = {
  'run-started': (e) => {
    const skipped = e.backend.attempts.filter((a) => !a.ok);
    const why = skipped.map((a) => `${a.name}: ${a.reason ?? 'skipped'}`).join('; ');
    return (
      `${e.resumed ? 'resumed' : 'started'} ${e.runName} at step ${e.startStep} on ${e.backend.name}` +
      (why ? ` (skipped ${why})` : '')
    );
  },
  // Steps, grids and galleries are shown as charts and images, not as lines.
  step: () => null,
  samples: () => null,
  gallery: () => null,
  diversity: diversityText,
  checkpoint: (e) => `checkpoint ${e.file} (step ${e.step})`,
  log: logText,
  'run-ended': (e) => `${e.status} at step ${e.step}${e.message ? `: ${e.message}` : ''}`,
};

/** The line an event is logged as, or null for one that is only numbers or pictures. */
export function runEventText(e: RunEvent): string | null {
  return handleRunEvent(e, TEXT);
}

/** The level an event is logged at (an Output channel's info/warn/error). */
export function runEventLevel(e: RunEvent): LogEvent['level'] {
  if (e.type === 'log') return e.level;
  return e.type === 'run-ended' && e.status === 'failed' ? 'error' : 'info';
}
