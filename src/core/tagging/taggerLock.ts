import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { processGone } from '../run/processAlive';

/** Held while a process trains a run's tagger, next to the tagger file. */
export const TAGGER_LOCK = path.join('tagger', 'training.lock');

const POLL_MS = 500;

interface LockOwner {
  pid: number;
  hostname: string;
}

function readOwner(file: string): LockOwner | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as LockOwner;
  } catch {
    return null; // gone meanwhile, or being written: look again
  }
}

/**
 * Runs `fn` holding the run's tagger-training lock. Two first requests on one run (two explorer
 * clicks, a CLI call while the dashboard asks) would otherwise each spend a minute training the
 * same tagger; the second waits and then finds the first's tagger. A lock left by a process that
 * died on this machine is taken over.
 */
export async function withTaggerLock<T>(
  runDir: string,
  log: (line: string) => void,
  fn: () => Promise<T>,
): Promise<T> {
  const file = path.join(runDir, TAGGER_LOCK);
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  let waitingFor: number | null = null;
  for (;;) {
    try {
      const fd = fs.openSync(file, 'wx');
      fs.writeSync(fd, JSON.stringify({ pid: process.pid, hostname: os.hostname() }));
      fs.closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = readOwner(file);
    if (owner && processGone(owner.pid, owner.hostname)) {
      fs.rmSync(file, { force: true });
      continue;
    }
    if (owner && waitingFor !== owner.pid) {
      waitingFor = owner.pid;
      log(`tagger: process ${owner.pid} is training this run's tagger; waiting for it`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(file, { force: true });
  }
}
