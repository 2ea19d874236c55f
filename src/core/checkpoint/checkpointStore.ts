import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from './atomicWrite';
import {
  CorruptCheckpointError,
  decodeCheckpoint,
  encodeCheckpoint,
  type TensorRecord,
} from './checkpointFile';

const PREFIX = 'ckpt-';
const SUFFIX = '.icgan-ckpt';

export interface CheckpointEntry {
  step: number;
  file: string;
}

export function checkpointFileName(step: number): string {
  return `${PREFIX}${String(step).padStart(8, '0')}${SUFFIX}`;
}

/** Checkpoints in `dir`, newest first. Temporary files of interrupted writes are not listed. */
export function listCheckpoints(dir: string): CheckpointEntry[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.startsWith(PREFIX) && n.endsWith(SUFFIX))
    .map((n) => ({ step: Number(n.slice(PREFIX.length, -SUFFIX.length)), file: path.join(dir, n) }))
    .filter((e) => Number.isInteger(e.step))
    .sort((a, b) => b.step - a.step);
}

/** Writes a checkpoint atomically, then deletes all but the newest `keep`. */
export async function saveCheckpoint<M>(
  dir: string,
  step: number,
  meta: M,
  tensors: readonly TensorRecord[],
  keep: number,
): Promise<{ file: string; bytes: number }> {
  const buf = encodeCheckpoint(meta, tensors);
  const file = path.join(dir, checkpointFileName(step));
  await writeFileAtomic(file, buf);
  for (const old of listCheckpoints(dir).slice(keep))
    await fs.promises.rm(old.file, { force: true });
  return { file, bytes: buf.length };
}

export interface LoadedCheckpoint<M> {
  file: string;
  meta: M;
  tensors: Map<string, TensorRecord>;
}

/**
 * The newest checkpoint that passes its checksum. Corrupt ones are reported through `warn` and
 * skipped, so one bad file costs one checkpoint interval, not the run.
 */
export function loadLatestCheckpoint<M>(
  dir: string,
  warn: (msg: string) => void,
  /** Only checkpoints of this step or earlier (to judge a run as it was at a step). */
  atMostStep = Infinity,
): LoadedCheckpoint<M> | null {
  for (const entry of listCheckpoints(dir).filter((e) => e.step <= atMostStep)) {
    try {
      const { meta, tensors } = decodeCheckpoint<M>(fs.readFileSync(entry.file));
      return { file: entry.file, meta, tensors };
    } catch (err) {
      if (!(err instanceof CorruptCheckpointError) && !(err instanceof SyntaxError)) throw err;
      warn(`skipping checkpoint ${path.basename(entry.file)}: ${err.message}`);
    }
  }
  return null;
}
