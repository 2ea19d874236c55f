import * as fs from 'node:fs';
import type { RunEvent } from '../../protocol/runnerEvents';

/**
 * `events.jsonl`: one JSON event per line, appended as they happen. A process killed mid-write can
 * leave a torn last line; opening the log for appending cuts it off, and `readEvents` tolerates one.
 */
export class EventLog {
  private readonly fd: number;

  constructor(readonly file: string) {
    repairTornTail(file);
    this.fd = fs.openSync(file, 'a');
  }

  append(event: RunEvent): void {
    fs.writeSync(this.fd, `${JSON.stringify(event)}\n`);
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

/** Truncates an unterminated last line left by a crash. */
export function repairTornTail(file: string): void {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return;
  }
  if (text.length === 0 || text.endsWith('\n')) return;
  fs.truncateSync(file, Buffer.byteLength(text.slice(0, text.lastIndexOf('\n') + 1), 'utf8'));
}

/** Parses an events file; an unparseable last line (a torn write) is dropped, others are errors. */
export function readEvents(file: string): RunEvent[] {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const events: RunEvent[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      events.push(JSON.parse(line) as RunEvent);
    } catch (err) {
      if (i < lines.length - 1 && lines.slice(i + 1).some((l) => l.trim() !== '')) {
        throw new Error(`${file}: line ${i + 1} is not valid JSON: ${(err as Error).message}`);
      }
    }
  });
  return events;
}
