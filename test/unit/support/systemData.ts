import { existsSync } from 'node:fs';
import * as path from 'node:path';

/**
 * Data a test reads from a system (Debian) package rather than npm. `npm install` cannot provide
 * it, so a test that needs it skips with one line naming the package; .ci/run installs it, so CI
 * runs the test.
 */
export interface SystemData {
  what: string;
  debianPackage: string;
  /** Folders searched in order; the first holding every file wins. */
  dirs: readonly string[];
  files: readonly string[];
}

export const FASHION_MNIST: SystemData = {
  what: 'Fashion-MNIST',
  debianPackage: 'dataset-fashion-mnist',
  dirs: ['/usr/share/datasets/fashion-mnist'],
  files: ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'],
};

/** The first folder holding all of the data's files, or null. */
export function findSystemData(data: SystemData): string | null {
  return data.dirs.find((dir) => data.files.every((f) => existsSync(path.join(dir, f)))) ?? null;
}

/** The one line a skipped test prints. */
export function skipLine(data: SystemData): string {
  return `${data.what} not found in ${data.dirs.join(', ')}: skipped; install the Debian package ${data.debianPackage} (apt-get install ${data.debianPackage}) to run it`;
}

/** The data's folder, or skips the calling test after printing why. */
export function systemDataOrSkip(test: Mocha.Context, data: SystemData): string {
  const dir = findSystemData(data);
  if (dir) return dir;
  console.log(`      ${skipLine(data)}`);
  return test.skip();
}
