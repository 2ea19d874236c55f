import * as fs from 'node:fs';
import { readNativeHeader } from './nativeHeader';
import type { Target } from './targets';
import { zipEntries } from './zipEntries';

export interface VsixReport {
  /** Archive paths of the native files, each with what its header says. */
  natives: { name: string; built: string }[];
  /**
   * Problems: a native file for another platform, a required one missing, another platform's
   * webgpu folder, the wrong manifest.
   */
  problems: string[];
  bytes: number;
}

/**
 * Opens a target's .vsix and checks every native file in it is built for that target (by its
 * ELF / Mach-O / PE header, not its name) and that none the runner needs is missing.
 */
export function checkVsix(file: string, target: Target): VsixReport {
  const zip = fs.readFileSync(file);
  const entries = zipEntries(zip);
  const problems: string[] = [];
  const natives: VsixReport['natives'] = [];
  for (const entry of entries) {
    const header = readNativeHeader(entry.read().subarray(0, 4096));
    if (!header) continue;
    const built = `${header.os}-${header.cpus.join('+')}`;
    natives.push({ name: entry.name, built });
    // A universal Mach-O passes when it has a slice for the target: macOS loads that slice.
    if (header.os !== target.os || !header.cpus.includes(target.cpu)) {
      problems.push(`${entry.name} is built for ${built}, not ${target.id}`);
    }
  }
  // Other platforms' webgpu folders also hold licence texts the header check does not see.
  const dawnDirs = new Set(
    entries
      .map((e) => /^extension\/node_modules\/webgpu\/dist\/([^/]+)\//.exec(e.name)?.[1])
      .filter((dir) => dir !== undefined && dir !== target.webgpuDist),
  );
  for (const dir of dawnDirs)
    problems.push(`node_modules/webgpu/dist/${dir}/ is not ${target.id}'s`);
  for (const pattern of target.required) {
    if (!entries.some((e) => pattern.test(e.name))) problems.push(`missing: ${pattern.source}`);
  }
  const manifest = entries
    .find((e) => e.name === 'extension.vsixmanifest')
    ?.read()
    .toString();
  if (!manifest?.includes(`TargetPlatform="${target.id}"`)) {
    problems.push(`extension.vsixmanifest does not name TargetPlatform="${target.id}"`);
  }
  return { natives, problems, bytes: zip.length };
}
