// Entry point of each pthread worker of tfjs-backend-wasm's threaded-SIMD build in Node (see
// wasmThreads.ts, which makes tfjs hand this file's path to `new Worker` instead of a blob: URL).
//
// It runs the worker source tfjs would have put in that blob (the package's
// `wasmWorkerContents`), with one change: the `load` message names the script defining
// WasmBackendModuleThreadedSimd as a Blob of the main bundle's own copy of that function, which
// refers to variables of the bundle; the worker gets the package's standalone glue file instead.
// Plain CommonJS, so it runs the same from source (under tsx) and from dist/.
/* global __filename */
'use strict';

const { BroadcastChannel, getEnvironmentData } = require('node:worker_threads');

/** Must match wasmThreads.ts. */
const KEY = 'icgan-studio:wasm-threads';

/**
 * Reports a failure to start and ends this worker. Thrown, the error would reach Emscripten's
 * `worker.onerror` on the main thread, which rethrows it from an event handler and kills the
 * process; wasmThreads.ts listens on this channel during init and falls back to the
 * single-threaded build instead. Left running, a worker that never loaded stays ref'd and keeps
 * the process alive.
 */
function fail(err) {
  const channel = new BroadcastChannel(KEY);
  channel.postMessage(err instanceof Error ? err.message : String(err));
  channel.close();
  process.exit(1); // in a worker: ends this thread only
}

try {
  const runtime = getEnvironmentData(KEY);
  if (runtime == null || typeof runtime.glue !== 'string') {
    throw new Error('no threaded WASM runtime paths in the worker environment data');
  }
  const { wasmWorkerContents } = require(runtime.workerSource);
  if (typeof wasmWorkerContents !== 'string') {
    throw new Error(`${runtime.workerSource} does not export wasmWorkerContents`);
  }
  // The same text tfjs puts in the blob (it re-escapes the newlines its template literal
  // unescaped), run with the CommonJS bindings Emscripten's Node worker expects.
  const source = wasmWorkerContents.replace(/\n/g, '\\n');
  new Function('require', '__filename', '__dirname', source)(require, __filename, __dirname);
  // The worker source routes parentPort messages to the global `onmessage` it just defined.
  const upstream = globalThis.onmessage;
  if (typeof upstream !== 'function') throw new Error('the pthread worker source set no onmessage');
  globalThis.onmessage = (e) => {
    if (e && e.data && e.data.cmd === 'load') {
      e.data.urlOrBlob = runtime.glue;
      try {
        upstream(e);
      } catch (err) {
        fail(err);
      }
      return;
    }
    upstream(e);
  };
} catch (err) {
  fail(err);
}
