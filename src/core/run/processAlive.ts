import * as os from 'node:os';

/**
 * Whether a process recorded by pid and hostname is known to be gone: only a process of this
 * machine can be checked, so one from another host (a shared folder) counts as alive.
 */
export function processGone(pid: number, hostname: string): boolean {
  if (hostname !== os.hostname()) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
