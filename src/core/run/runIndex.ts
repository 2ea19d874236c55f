import * as fs from 'node:fs';
import * as path from 'node:path';
import { processGone } from './processAlive';
import { listCheckpoints } from '../checkpoint/checkpointStore';
import { RUN_FILES, type RunInfo } from './runFolder';

/**
 * Finds the runs of a config without loading a model or validating the config: the hover, the
 * dashboard and "Generate from Image" read it while the user may be halfway through an edit.
 */

export interface RunRecord {
  dir: string;
  name: string;
  info: RunInfo;
  hasCheckpoint: boolean;
}

/**
 * A run.json that says 'running' although its process (on this machine) is gone: killed or
 * crashed before it could close the run. Readers show it as failed, resumable from its checkpoint.
 */
function interrupted(info: RunInfo): boolean {
  if (info.status !== 'running' || info.pid === undefined || info.hostname === undefined) {
    return false;
  }
  return processGone(info.pid, info.hostname);
}

/**
 * The runs folder a config trains into: `override` when given (the extension's setting), else
 * the config's `runsDir` (default `runs`), relative to the config's folder. A config that doesn't
 * parse yet still gets the default.
 */
export function runsDirOfConfig(configPath: string, override?: string): string {
  const base = path.dirname(path.resolve(configPath));
  if (override) return path.resolve(base, override);
  let runsDir = 'runs';
  try {
    const raw = JSON.parse(fs.readFileSync(configPath, 'utf8')) as { runsDir?: unknown };
    if (typeof raw.runsDir === 'string' && raw.runsDir.trim() !== '') runsDir = raw.runsDir;
  } catch {
    // Unreadable or mid-edit: the default is the best guess.
  }
  return path.resolve(base, runsDir);
}

/** One run folder's record, or null when it has no readable run.json. */
export function readRun(dir: string): RunRecord | null {
  let info: RunInfo;
  try {
    info = JSON.parse(fs.readFileSync(path.join(dir, RUN_FILES.run), 'utf8')) as RunInfo;
  } catch {
    return null;
  }
  if (typeof info !== 'object' || info === null || typeof info.configPath !== 'string') return null;
  if (interrupted(info)) {
    info = {
      ...info,
      status: 'failed',
      message: `the training process (pid ${info.pid}) ended without closing the run: killed or crashed`,
    };
  }
  return {
    dir,
    name: path.basename(dir),
    info,
    hasCheckpoint: listCheckpoints(path.join(dir, RUN_FILES.checkpoints)).length > 0,
  };
}

/** The runs in `runsDir` (of one config when `configPath` is given), newest first. */
export function listRuns(runsDir: string, configPath?: string): RunRecord[] {
  let names: string[];
  try {
    names = fs.readdirSync(runsDir);
  } catch {
    return [];
  }
  const wanted = configPath === undefined ? undefined : path.resolve(configPath);
  return names
    .map((n) => readRun(path.join(runsDir, n)))
    .filter((r): r is RunRecord => r !== null)
    .filter((r) => wanted === undefined || path.resolve(r.info.configPath) === wanted)
    .sort(
      (a, b) => b.info.startedAt.localeCompare(a.info.startedAt) || b.name.localeCompare(a.name),
    );
}
