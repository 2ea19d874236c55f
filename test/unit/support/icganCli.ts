import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

export const REPO_ROOT = path.join(__dirname, '..', '..', '..');
/** The bundled CLI: tests run what users run (build first: `node esbuild.js`). */
export const CLI = path.join(REPO_ROOT, 'dist', 'cli.js');

/** Runs `icgan <args>` in `cwd` to completion. */
export function icgan(
  args: string[],
  cwd: string,
  timeoutMs = 120_000,
): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd,
    encoding: 'utf8',
    timeout: timeoutMs,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
