// The WASM backend fetches its binary at init time from a directory it cannot guess once the
// engine is bundled: esbuild inlines the package's JS but not its .wasm files, so the build
// copies them next to the bundle, and unbundled runs (tests, tsx) read them from node_modules.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The binaries tfjs-backend-wasm chooses from at init (plain, SIMD, threaded SIMD). */
export const WASM_BINARY_FILES = [
  'tfjs-backend-wasm.wasm',
  'tfjs-backend-wasm-simd.wasm',
  'tfjs-backend-wasm-threaded-simd.wasm',
] as const;

/**
 * The directory holding all of {@link WASM_BINARY_FILES}: the running bundle's own directory when
 * the build copied them there, else the installed package's `dist/`. Throws a one-line error
 * naming both places when neither has them.
 */
export function findWasmDir(): string {
  const candidates = [__dirname, installedPackageDir()];
  for (const dir of candidates) {
    if (dir !== undefined && hasAllBinaries(dir)) return dir;
  }
  const tried = candidates.filter((d): d is string => d !== undefined).join(', ');
  throw new Error(`WASM binaries (${WASM_BINARY_FILES.join(', ')}) not found in: ${tried}`);
}

/** {@link findWasmDir} with a trailing separator, the form `setWasmPaths` expects. */
export function findWasmPathPrefix(): string {
  return findWasmDir() + path.sep;
}

function installedPackageDir(): string | undefined {
  try {
    return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
  } catch {
    return undefined;
  }
}

function hasAllBinaries(dir: string): boolean {
  return WASM_BINARY_FILES.every((file) => fs.existsSync(path.join(dir, file)));
}
