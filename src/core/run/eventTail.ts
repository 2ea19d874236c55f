import * as fs from 'node:fs';
import type { RunEvent } from '../../protocol/runnerEvents';

/**
 * The newest event of a type in an events.jsonl, reading only the file's tail: a hover must stay
 * instant on a run with a million steps. Null when the tail has none.
 */
export function lastEventOfType<T extends RunEvent['type']>(
  file: string,
  type: T,
  tailBytes = 64 * 1024,
): Extract<RunEvent, { type: T }> | null {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return null;
  }
  try {
    const size = fs.fstatSync(fd).size;
    const length = Math.min(size, tailBytes);
    const buf = Buffer.alloc(length);
    fs.readSync(fd, buf, 0, length, size - length);
    const lines = buf.toString('utf8').split('\n');
    // The first line may be cut by the tail window; a torn last line fails to parse: both skipped.
    for (let i = lines.length - 1; i >= (length < size ? 1 : 0); i--) {
      const line = lines[i];
      if (!line || !line.includes(`"type":"${type}"`)) continue;
      try {
        const e = JSON.parse(line) as RunEvent;
        if (e.type === type) return e as Extract<RunEvent, { type: T }>;
      } catch {
        continue;
      }
    }
    return null;
  } finally {
    fs.closeSync(fd);
  }
}
