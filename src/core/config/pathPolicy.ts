import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ConfigIssue } from './configError';
import type { TrainConfig } from './types';

/**
 * Where a config may read and write when the extension runs it: inside the workspace folders
 * (`roots`), unless the user allows more. A config is data from the workspace; without this, a
 * cloned repository's config could read any folder of the machine into its run or write runs
 * anywhere. Symbolic links are followed, so a link can't lead outside either.
 */
export const OUTSIDE_SETTING = 'icgan.allowPathsOutsideWorkspace';

/** The path with symbolic links resolved, as far as it exists (a runs folder may not yet). */
function realPath(p: string): string {
  let head = path.resolve(p);
  const tail: string[] = [];
  for (;;) {
    try {
      return path.join(fs.realpathSync(head), ...tail.reverse());
    } catch {
      const parent = path.dirname(head);
      if (parent === head) return path.resolve(p);
      tail.push(path.basename(head));
      head = parent;
    }
  }
}

export function isInside(p: string, roots: readonly string[]): boolean {
  const real = realPath(p);
  return roots.some((root) => {
    const rel = path.relative(realPath(root), real);
    return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
  });
}

/** The config's paths (read and written) that lie outside `roots`, as config issues. */
export function pathsOutside(config: TrainConfig, roots: readonly string[]): ConfigIssue[] {
  const fields: [string, string | null][] = [['runsDir', config.runsDir]];
  const data = config.data;
  if (data.source === 'folder') {
    fields.push(['data.path', data.path], ['data.sidecar', data.sidecar ?? null]);
  }
  if (data.source === 'idx') {
    fields.push(['data.images', data.images], ['data.labels', data.labels]);
  }
  const features = config.instances.features;
  if (features.kind === 'model' && typeof features.path === 'string') {
    fields.push(['instances.features.path', features.path]);
  }
  return fields
    .filter((f): f is [string, string] => f[1] !== null && !isInside(f[1], roots))
    .map(([field, p]) => ({
      field,
      message: `${p} is outside the workspace; set ${OUTSIDE_SETTING} to allow it`,
    }));
}
