import * as path from 'node:path';

/**
 * How a config file is recognised and named: `<name>.icgan.json`. The one place the suffix is
 * written; the extension's file globs, titles and pickers and the engine's run names use it.
 */
export const CONFIG_SUFFIX = '.icgan.json';

/** A glob matching every config in a workspace. */
export const CONFIG_GLOB = `**/*${CONFIG_SUFFIX}`;

export function isConfigPath(p: string): boolean {
  return p.endsWith(CONFIG_SUFFIX);
}

/** A config's display name: its file name without the suffix. */
export function configName(configPath: string): string {
  return path.basename(configPath, CONFIG_SUFFIX);
}
