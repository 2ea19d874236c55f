// Multithreaded WASM in Node. tfjs-backend-wasm 4.22 ships a threaded-SIMD build (XNNPACK runs
// on a pthread pool of Web Workers) but never uses it in Node: its WASM_HAS_MULTITHREAD_SUPPORT
// flag answers false there, and forcing the flag alone fails, because tfjs hands Emscripten the
// pthread worker as a blob: URL, which Node's Worker rejects (ERR_WORKER_PATH).
//
// This module selects the threaded build and, for the duration of the backend's init only, shims
// the three things that stand in the way:
//  - URL.createObjectURL returns the path of our worker entry (wasmPthreadWorker.js) for the
//    worker's application/javascript Blob; that file runs the same worker source and loads the
//    package's standalone glue, whose paths it reads from worker_threads environment data.
//  - os.cpus() reports twice the wanted thread count: the C++ side caps its pool at
//    emscripten_num_logical_cores() / 2 (= os.cpus().length / 2 in Node) and at 8.
//  - afterwards every pthread worker is unref()'d: Emscripten refs a worker while a pthread runs
//    on it, and XNNPACK's pool threads never end, so the process would never exit.
// All of it relies on package internals of tfjs-backend-wasm 4.22.0 (pinned in package.json).
import { createRequire } from 'node:module';
import { BroadcastChannel, setEnvironmentData, type Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { type BackendWasm, getThreadsCount, setThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { findWasmThreadedRuntime, type WasmThreadedRuntime } from './wasmPaths';

/** Environment variable overriding the thread count; `1` turns threads off. */
export const WASM_THREADS_ENV = 'ICGAN_WASM_THREADS';

/** The most the threaded build can use: Emscripten pre-creates 8 workers, C++ caps at 8. */
export const MAX_WASM_THREADS = 8;

/** worker_threads environment-data key and BroadcastChannel name; wasmPthreadWorker.js too. */
const KEY = 'icgan-studio:wasm-threads';

/** A worker that never reports back would otherwise leave tf.setBackend pending forever. */
const INIT_TIMEOUT_MS = 60_000;

const FLAG = 'WASM_HAS_MULTITHREAD_SUPPORT';

// The real module object: emscripten's glue calls require("os").cpus(), and the namespace
// objects `import * as os` yields under esbuild and tsx are copies.
const nodeOs = createRequire(__filename)('node:os') as typeof import('node:os');

/**
 * How many threads the WASM backend should use: {@link WASM_THREADS_ENV} when set, else one per
 * CPU; at most {@link MAX_WASM_THREADS}. Throws (one line) on a malformed override.
 */
export function wantedWasmThreads(
  env: NodeJS.ProcessEnv = process.env,
  cpuCount: number = nodeOs.cpus().length,
): number {
  const raw = env[WASM_THREADS_ENV]?.trim();
  if (raw !== undefined && raw !== '') {
    if (!/^\d+$/.test(raw) || Number(raw) < 1) {
      throw new Error(`${WASM_THREADS_ENV} must be a whole number ≥ 1 (1 = off), got '${raw}'`);
    }
    return Math.min(Number(raw), MAX_WASM_THREADS);
  }
  return Math.max(1, Math.min(cpuCount, MAX_WASM_THREADS));
}

/** Whether the 'wasm' backend is already initialised in this process (its build is then fixed). */
export function wasmBackendInitialized(): boolean {
  return tf.engine().registry['wasm'] !== undefined;
}

/**
 * Runs `activate` — which must initialise the 'wasm' backend, i.e. call `tf.setBackend('wasm')`
 * for the first time in this process — with the threaded-SIMD build selected and the Node shims
 * in place; restores the shims whatever happens. Rejects if the threaded build cannot start or
 * does not end up with `threads` threads; call {@link discardWasmBackend} before falling back.
 */
export async function withThreadedWasm<T>(threads: number, activate: () => Promise<T>): Promise<T> {
  if (threads < 2 || threads > MAX_WASM_THREADS) {
    throw new Error(`threads must be within 2..${MAX_WASM_THREADS}, got ${threads}`);
  }
  if (wasmBackendInitialized()) throw new Error('the wasm backend is already initialised');
  if (!(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'))) {
    throw new Error('the threaded build needs WebAssembly SIMD, which this runtime lacks');
  }
  const runtime = findWasmThreadedRuntime();
  const failures = new BroadcastChannel(KEY);
  const restore = installShims(runtime, threads);
  let timer: NodeJS.Timeout | undefined;
  try {
    const result = activate();
    // If a worker failure wins the race, a later rejection of `result` must not go unhandled
    // (Emscripten's glue turns unhandled rejections into uncaught exceptions).
    result.catch(() => undefined);
    const failed = new Promise<never>((_, reject) => {
      failures.onmessage = (event) => {
        reject(new Error(`a pthread worker failed to start: ${String(event.data)}`));
      };
      timer = setTimeout(
        () => reject(new Error(`init did not finish within ${INIT_TIMEOUT_MS / 1000} s`)),
        INIT_TIMEOUT_MS,
      );
    });
    const value = await Promise.race([result, failed]);
    const actual = releasePthreadWorkers();
    if (actual !== threads) throw new Error(`asked for ${threads} threads, got ${actual}`);
    return value;
  } finally {
    clearTimeout(timer);
    failures.close();
    restore();
  }
}

/**
 * Drops the 'wasm' backend (a failed or pending threaded init, or one that initialised wrong)
 * while keeping it registered, so the next `tf.setBackend('wasm')` initialises it afresh; and
 * puts the single-threaded build back in place for that init.
 */
export function discardWasmBackend(): void {
  tf.env().set(FLAG, false);
  setThreadsCount(-1);
  const engine = tf.engine();
  const entry = engine.registryFactory['wasm'];
  if (entry === undefined) return;
  // removeBackend also makes a pending init obsolete and terminates the pthread workers.
  tf.removeBackend('wasm');
  tf.registerBackend('wasm', entry.factory, entry.priority);
}

/** Selects the threaded build and shims Node for its init; returns the undo. */
function installShims(runtime: WasmThreadedRuntime, threads: number): () => void {
  const createObjectURL = URL.createObjectURL;
  const cpus = nodeOs.cpus;
  setEnvironmentData(KEY, { glue: runtime.glue, workerSource: runtime.workerSource });
  URL.createObjectURL = (obj: Blob) =>
    obj instanceof Blob && obj.type === 'application/javascript'
      ? runtime.workerEntry
      : createObjectURL.call(URL, obj);
  nodeOs.cpus = () => {
    const real = cpus.call(nodeOs);
    return Array.from({ length: 2 * threads }, (_, i) => real[i % real.length] ?? fakeCpu());
  };
  tf.env().set(FLAG, true);
  setThreadsCount(threads);
  return () => {
    URL.createObjectURL = createObjectURL;
    nodeOs.cpus = cpus;
    setEnvironmentData(KEY, undefined);
    // The flag is only read by init; left true, a later re-init would run without the shims.
    tf.env().set(FLAG, false);
  };
}

interface PThreadRegistry {
  unusedWorkers: Worker[];
  runningWorkers: Worker[];
}

/**
 * Lets the process exit while the pthread pool idles: unrefs every pthread worker of the
 * initialised backend. Returns the backend's thread count; throws if it is not the threaded build.
 */
function releasePthreadWorkers(): number {
  const backend = tf.engine().registry['wasm'] as BackendWasm | undefined;
  if (backend === undefined) throw new Error('the wasm backend did not initialise');
  const pthread = (backend.wasm as unknown as { PThread?: PThreadRegistry }).PThread;
  if (pthread === undefined) throw new Error('tfjs loaded the single-threaded build');
  for (const worker of [...pthread.runningWorkers, ...pthread.unusedWorkers]) worker.unref();
  return getThreadsCount();
}

function fakeCpu(): import('node:os').CpuInfo {
  return { model: 'unknown', speed: 0, times: { user: 0, nice: 0, sys: 0, idle: 0, irq: 0 } };
}
