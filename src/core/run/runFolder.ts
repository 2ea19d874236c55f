import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BackendName, RunStatus } from '../../protocol/runnerEvents';
import { writeFileAtomicSync } from '../checkpoint/atomicWrite';
import type { TrainConfig } from '../config/types';
import { UserError } from '../errors';

/**
 * The run-folder contract (documented in the README; the extension and the hover read it):
 *   runs/<run-name>/config.json    the resolved config
 *                   run.json       status, backend, step, timings
 *                   events.jsonl   one event per line
 *                   samples/       step-XXXXXXXX.png grids and latest.png
 *                   checkpoints/   ckpt-XXXXXXXX.icgan-ckpt
 */
export const RUN_FILES = {
  config: 'config.json',
  run: 'run.json',
  events: 'events.jsonl',
  samples: 'samples',
  latestSample: path.join('samples', 'latest.png'),
  checkpoints: 'checkpoints',
} as const;

export interface RunInfo {
  version: 1;
  name: string;
  status: RunStatus;
  configPath: string;
  model: string;
  backend: BackendName | null;
  step: number;
  totalSteps: number;
  startedAt: string;
  updatedAt: string;
  endedAt?: string;
  message?: string;
  /** Wall-clock seconds spent training, summed over resumes. */
  trainingSeconds: number;
  /** Median milliseconds per step of the latest session. */
  msPerStep?: number;
  lastCheckpoint?: string;
  /** The training process and its machine, so a reader can tell a dead 'running' run. */
  pid?: number;
  hostname?: string;
}

function timestamp(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/** Creates `<runsDir>/<name>-<timestamp>` with its sub-folders; never reuses an existing folder. */
export function createRunFolder(config: TrainConfig, now = new Date()): string {
  try {
    fs.mkdirSync(config.runsDir, { recursive: true });
  } catch (err) {
    throw new UserError(
      `runs folder ${config.runsDir} cannot be created: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
  const base = `${config.name}-${timestamp(now)}`;
  for (let i = 0; ; i++) {
    const dir = path.join(config.runsDir, i === 0 ? base : `${base}-${i}`);
    try {
      fs.mkdirSync(dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') continue;
      throw new UserError(`run folder ${dir} cannot be created: ${code ?? String(err)}`);
    }
    fs.mkdirSync(path.join(dir, RUN_FILES.samples));
    fs.mkdirSync(path.join(dir, RUN_FILES.checkpoints));
    writeFileAtomicSync(path.join(dir, RUN_FILES.config), `${JSON.stringify(config, null, 2)}\n`);
    return dir;
  }
}

export function writeRunInfo(runDir: string, info: RunInfo): void {
  writeFileAtomicSync(path.join(runDir, RUN_FILES.run), `${JSON.stringify(info, null, 2)}\n`);
}

export function readRunInfo(runDir: string): RunInfo {
  const file = path.join(runDir, RUN_FILES.run);
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as RunInfo;
  } catch (err) {
    throw new UserError(
      `${file}: not a readable run file (${(err as Error).message.split('\n')[0]})`,
    );
  }
}

/** Checks that a folder looks like a run folder before anything else reads it. */
export function assertRunFolder(runDir: string): void {
  for (const f of [RUN_FILES.config, RUN_FILES.run]) {
    if (!fs.existsSync(path.join(runDir, f))) {
      throw new UserError(`${runDir}: not a run folder (no ${f})`);
    }
  }
}
