// The WASM backend fetches its binary at init time from a directory it cannot guess once the
// engine is bundled: esbuild inlines the package's JS but not its .wasm files, so the build
// copies them next to the bundle, and unbundled runs (tests, tsx) read them from node_modules.
// The threaded build also needs plain JS files at run time (wasmThreads.ts): the package's
// standalone glue and its pthread worker's source, plus our own worker entry; esbuild.js copies
// those next to the bundle too.
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

/** The package's standalone Emscripten output for the threaded-SIMD build (its `wasm-out/`). */
export const WASM_THREADED_GLUE_FILES = [
  // Defines WasmBackendModuleThreadedSimd; each pthread worker evaluates it.
  'tfjs-backend-wasm-threaded-simd.js',
  // Exports wasmWorkerContents, the source of Emscripten's pthread worker.
  'tfjs-backend-wasm-threaded-simd.worker.js',
] as const;

/** Our pthread worker entry point; it sits next to this module (source) or the bundle (dist). */
export const WASM_PTHREAD_WORKER_FILE = 'wasmPthreadWorker.js';

/** Absolute paths of what the threaded-SIMD build needs at run time besides its `.wasm`. */
export interface WasmThreadedRuntime {
  /** `tfjs-backend-wasm-threaded-simd.js`. */
  glue: string;
  /** `tfjs-backend-wasm-threaded-simd.worker.js`. */
  workerSource: string;
  /** {@link WASM_PTHREAD_WORKER_FILE}. */
  workerEntry: string;
}

/**
 * Finds {@link WASM_THREADED_GLUE_FILES} (next to the bundle, else in the installed package's
 * `wasm-out/`) and {@link WASM_PTHREAD_WORKER_FILE} (next to this module or bundle). Throws a
 * one-line error naming the places tried.
 */
export function findWasmThreadedRuntime(): WasmThreadedRuntime {
  const pkg = installedPackageDir();
  const glueDirs = [__dirname, pkg === undefined ? undefined : path.join(pkg, '..', 'wasm-out')];
  const glueDir = glueDirs.find(
    (dir) => dir !== undefined && WASM_THREADED_GLUE_FILES.every((f) => isFile(path.join(dir, f))),
  );
  if (glueDir === undefined) {
    const tried = glueDirs.filter((d): d is string => d !== undefined).join(', ');
    throw new Error(`${WASM_THREADED_GLUE_FILES.join(', ')} not found in: ${tried}`);
  }
  const workerEntry = path.join(__dirname, WASM_PTHREAD_WORKER_FILE);
  if (!isFile(workerEntry)) {
    throw new Error(`${WASM_PTHREAD_WORKER_FILE} not found in ${__dirname}`);
  }
  return {
    glue: path.join(glueDir, WASM_THREADED_GLUE_FILES[0]),
    workerSource: path.join(glueDir, WASM_THREADED_GLUE_FILES[1]),
    workerEntry,
  };
}

function installedPackageDir(): string | undefined {
  try {
    return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
  } catch {
    return undefined;
  }
}

function isFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function hasAllBinaries(dir: string): boolean {
  return WASM_BINARY_FILES.every((file) => fs.existsSync(path.join(dir, file)));
}
