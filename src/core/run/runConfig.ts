import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolveConfig } from '../config/loadConfig';
import type { TrainConfig } from '../config/types';
import { UserError } from '../errors';
import { RUN_FILES } from './runFolder';

/**
 * A run's stored config.json, re-validated: it may have been edited or the data moved, and
 * settings added since the run was made (tagging, model.condition) get their defaults.
 */
export function loadRunConfig(runDir: string): TrainConfig {
  const dir = path.resolve(runDir);
  const configFile = path.join(dir, RUN_FILES.config);
  if (!fs.existsSync(configFile))
    throw new UserError(`${dir}: not a run folder (no ${RUN_FILES.config})`);
  let stored: Record<string, unknown>;
  try {
    stored = JSON.parse(fs.readFileSync(configFile, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new UserError(`${configFile}: not valid JSON (${(err as Error).message})`);
  }
  const { configPath, ...rest } = stored;
  const config = resolveConfig(rest, typeof configPath === 'string' ? configPath : configFile);
  return { ...config, name: String(stored.name ?? config.name) };
}
