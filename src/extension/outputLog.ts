import type * as vscode from 'vscode';
import { runEventLevel, runEventText } from '../core/run/runEventText';
import type { RunEvent } from '../protocol/runnerEvents';

/** Writes a runner event to the Output channel at its level (events without text are skipped). */
export function logRunEvent(log: vscode.LogOutputChannel, e: RunEvent, prefix?: string): void {
  const text = runEventText(e);
  if (text === null) return;
  const line = prefix ? `${prefix}: ${text}` : text;
  const level = runEventLevel(e);
  if (level === 'error') log.error(line);
  else if (level === 'warn') log.warn(line);
  else log.info(line);
}
