// Our own WebAssembly kernels (native/icganKernels.c, built by scripts/build-wasm.sh) running
// on tfjs-backend-wasm's heap. The module imports the backend's WebAssembly.Memory, so a kernel
// takes tensors' heap offsets and reads and writes their data in place: no copies in or out.
//
// Threads: with tfjs-wasm's threaded build the memory is shared, and a pool of worker_threads —
// one fewer than the backend's thread count, the calling thread being the last — instantiates
// the same module on the same memory. A call publishes the kernel and its arguments in a small
// SharedArrayBuffer and wakes the pool with Atomics.notify; then every thread, the caller too,
// claims parts from an atomic counter until none are left, and the caller waits only for parts a
// worker has claimed. So a worker the OS has not scheduled (a busy 2-core machine) or that never
// woke costs nothing: the caller does its parts. Every kernel computes only its (part, parts)
// share, split on whole rows, so a result is bit-identical for any thread count and for whoever
// runs a part. With the single-threaded build, or for small tensors where waking threads costs
// more than it saves, the calling thread does everything.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { type BackendWasm, getThreadsCount } from '@tensorflow/tfjs-backend-wasm';

/** The kernels native/icganKernels.c exports; each takes (…, part, parts) last. */
export const NATIVE_KERNELS = [
  'binary',
  'binary_bcast',
  'binary_scalar',
  'unary',
  'clip',
  'avg_pool2',
  'colsum_blocks',
  'colsum_blocks_prod',
  'colsum_tree',
  'transpose4',
  'interleave_phases',
  'col2im',
  'matmul',
  'conv_filter_grad',
  'conv2d_forward',
  'conv2d_input_grad',
  // The LeakyRelu gradient (wasmLeakyGradKernel.ts).
  'leaky_relu_grad',
  // Parameter updates (wasmUpdateKernels.ts).
  'adam_update',
  'ema_update',
  // Spectral norm's power iteration and its gradient (wasmSpectralNormKernels.ts).
  'spectral_norm',
  'spectral_norm_grad',
  // Batch norm and its gradient (wasmBatchNormKernels.ts).
  'bn_sqdev',
  'bn_rstd',
  'bn_apply',
  'bn_grad_affine',
  'bn_grad_input',
  // The contrastive encoder's crops (wasmAugmentKernels.ts).
  'crop_resize_reflect',
  // D's minibatch std and its gradient (wasmMinibatchStdKernels.ts).
  'mbstd_forward',
  'mbstd_grad',
] as const;
export type NativeKernelName = (typeof NATIVE_KERNELS)[number];

/** The two builds of the module, next to this file (source) or the bundle (dist/). */
export const NATIVE_WASM_FILES = ['icganKernels.wasm', 'icganKernels-shared.wasm'] as const;

/** Below this many elements a kernel runs on the calling thread alone. */
const PARALLEL_MIN_ELEMENTS = 1 << 14;
let parallelMinElements = PARALLEL_MIN_ELEMENTS;

/**
 * Parts per thread of a threaded call, claimed dynamically by whichever thread is free: the
 * calling thread runs its first part at once while a worker is still waking (tens of µs on a
 * busy or virtual machine), so with one part per thread it then waited for the late worker's
 * whole half.
 */
const PARTS_PER_THREAD = 4;

/**
 * How long, in µs, a pool thread done with its parts keeps checking for the next call before it
 * sleeps in Atomics.wait (and the caller for the pool's last part before it does). A training
 * step is a stream of kernel calls tens of µs apart, and a futex wake-up took longer than that on
 * the 2-core machines here: with the workers asleep between calls, the caller did most parts
 * itself and then waited for the one a late worker had claimed. Spinning 300 µs made the demo's
 * step 0.88–0.92×, IC-GAN-32's 0.90× and DCGAN-32's 0.94× (in-process A/B, Zen 3); 50 µs gained
 * nothing, 1,000 µs no more than 300. A burst of idle polling after each call, as XNNPACK's own
 * pool does.
 */
const POOL_SPIN_US = 300;
let poolSpinUs = POOL_SPIN_US;

/**
 * Sets how long pool threads and the caller poll before sleeping (0: sleep at once; benches
 * compare the two); returns the previous value. Default {@link POOL_SPIN_US}.
 */
export function setPoolSpinMicroseconds(us: number): number {
  const previous = poolSpinUs;
  poolSpinUs = us;
  current?.setSpin(us);
  return previous;
}

/**
 * Sets the size from which kernels use every thread (0: always, Infinity: never; tests compare
 * the two); returns the previous value. Default {@link PARALLEL_MIN_ELEMENTS}.
 */
export function setParallelMinElements(elements: number): number {
  const previous = parallelMinElements;
  parallelMinElements = elements;
  return previous;
}

/** Slots of the control block (Int32Array) and where the arguments (Float64Array) start. */
const GENERATION = 0;
const KERNEL = 1;
const PARTS = 2;
const ARG_COUNT = 3;
const DONE = 4;
const READY = 5;
const FAILED = 6;
/** The next unclaimed part; past `parts` once a call's parts are all claimed. */
const NEXT = 7;
/** {@link POOL_SPIN_US}, for the workers. */
const SPIN_US = 8;
const ARGS_BYTE_OFFSET = 64;
const MAX_ARGS = 24;
const STOP = -1;

const POOL_START_TIMEOUT_MS = 30_000;

/**
 * How long the caller waits for a part a worker claimed. A part takes milliseconds; a worker that
 * has not finished one in this time has died, and waiting longer would hang training silently.
 */
const PART_TIMEOUT_MS = 120_000;

type KernelFn = (...args: number[]) => void;

// The slice of the WebAssembly JS API used here (the project's lib is ES2022, without it).
interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
}
type WasmModule = object;
interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { exports: Record<string, unknown> };
  Memory: abstract new (...args: never[]) => WasmMemory;
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** The module instantiated on one backend heap, and its thread pool when the heap is shared. */
export class NativeKernels {
  private readonly fns: KernelFn[];
  private readonly control: Int32Array;
  private readonly args: Float64Array;
  private readonly workers: Worker[] = [];

  private constructor(
    readonly memory: WasmMemory,
    module: WasmModule,
    readonly threads: number,
  ) {
    const instance = new wasmApi.Instance(module, { env: { memory } });
    this.fns = NATIVE_KERNELS.map((name) => {
      const fn = instance.exports[name];
      if (typeof fn !== 'function') throw new Error(`icganKernels.wasm lacks '${name}'`);
      return fn as KernelFn;
    });
    const shared = new SharedArrayBuffer(ARGS_BYTE_OFFSET + 8 * MAX_ARGS);
    this.control = new Int32Array(shared, 0, ARGS_BYTE_OFFSET / 4);
    this.control[SPIN_US] = poolSpinUs;
    this.args = new Float64Array(shared, ARGS_BYTE_OFFSET, MAX_ARGS);
    for (let part = 1; part < threads; part++) {
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { module, memory, control: shared, names: NATIVE_KERNELS, part },
      });
      // Blocked in Atomics.wait between calls; it must not keep the process alive.
      worker.unref();
      this.workers.push(worker);
    }
    this.awaitReady();
  }

  /** The kernels for `backend`'s heap: made once per heap (a re-initialised backend has a new one). */
  static for(backend: BackendWasm): NativeKernels {
    const memory = backendMemory(backend);
    if (current?.memory === memory) return current;
    current?.stop();
    const shared = memory.buffer instanceof SharedArrayBuffer;
    const threads = shared ? Math.max(1, getThreadsCount()) : 1;
    const made = new NativeKernels(memory, compiledModule(shared), threads);
    current = made;
    return made;
  }

  /**
   * Runs `kernel` with `args` (then part, parts); on every thread when `elements` — the size of
   * the work — is large enough to pay for waking them.
   */
  run(kernel: NativeKernelName, args: readonly number[], elements: number): void {
    const index = NATIVE_KERNELS.indexOf(kernel);
    const fn = this.fns[index] as KernelFn;
    const parts = elements >= parallelMinElements ? this.threads * PARTS_PER_THREAD : 1;
    if (parts === 1) {
      fn(...args, 0, 1);
      return;
    }
    if (args.length > MAX_ARGS) throw new Error(`${kernel}: too many arguments`);
    const c = this.control;
    // The arguments are written before NEXT is reset (a sequentially consistent store), and a
    // worker reads them only after claiming a part from NEXT: it always sees this call's. A worker
    // late from the previous call finds NEXT past `parts` (a pool's parts never change) and idles.
    this.args.set(args);
    c[KERNEL] = index;
    c[PARTS] = parts;
    c[ARG_COUNT] = args.length;
    Atomics.store(c, DONE, 0);
    Atomics.store(c, NEXT, 0);
    Atomics.add(c, GENERATION, 1);
    Atomics.notify(c, GENERATION);
    for (let part = Atomics.add(c, NEXT, 1); part < parts; part = Atomics.add(c, NEXT, 1)) {
      fn(...args, part, parts);
      Atomics.add(c, DONE, 1);
    }
    const spinUntil = performance.now() + c[SPIN_US]! / 1000;
    while (Atomics.load(c, DONE) !== parts && performance.now() < spinUntil);
    const deadline = Date.now() + PART_TIMEOUT_MS;
    for (;;) {
      const done = Atomics.load(c, DONE);
      if (done === parts) break;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `${kernel}: a WASM kernel pool thread did not finish its part in ${PART_TIMEOUT_MS / 1000} s (ICGAN_WASM_THREADS=1 runs without the pool)`,
        );
      }
      Atomics.wait(c, DONE, done, left);
    }
    if (Atomics.exchange(c, FAILED, 0) !== 0) {
      throw new Error(`${kernel}: a WASM kernel pool thread failed (its error is on stderr)`);
    }
  }

  /** How long the pool's threads poll for the next call (µs); see {@link POOL_SPIN_US}. */
  setSpin(us: number): void {
    this.control[SPIN_US] = us;
  }

  /** Ends the pool's workers. */
  private stop(): void {
    if (this.workers.length === 0) return;
    this.control[KERNEL] = STOP;
    Atomics.add(this.control, GENERATION, 1);
    Atomics.notify(this.control, GENERATION);
    this.workers.length = 0;
  }

  /** Blocks until every worker has instantiated the module (they start in the background). */
  private awaitReady(): void {
    const deadline = Date.now() + POOL_START_TIMEOUT_MS;
    for (;;) {
      const ready = Atomics.load(this.control, READY);
      if (ready === this.workers.length) return;
      const left = deadline - Date.now();
      if (left <= 0) {
        this.stop();
        throw new Error(`the WASM kernel pool did not start within ${POOL_START_TIMEOUT_MS} ms`);
      }
      Atomics.wait(this.control, READY, ready, left);
    }
  }
}

let current: NativeKernels | undefined;
const modules = new Map<boolean, WasmModule>();

function compiledModule(shared: boolean): WasmModule {
  const known = modules.get(shared);
  if (known !== undefined) return known;
  const module = new wasmApi.Module(
    fs.readFileSync(findNativeWasm(shared ? NATIVE_WASM_FILES[1] : NATIVE_WASM_FILES[0])),
  );
  modules.set(shared, module);
  return module;
}

function findNativeWasm(name: string): string {
  const file = path.join(__dirname, name);
  if (!fs.existsSync(file)) throw new Error(`${name} not found in ${__dirname}`);
  return file;
}

interface EmscriptenModule {
  wasmMemory?: WasmMemory;
  asm?: { memory?: WasmMemory };
}

/** tfjs-wasm's heap: `wasmMemory` in the threaded build, the module's export otherwise. */
function backendMemory(backend: BackendWasm): WasmMemory {
  const m = backend.wasm as unknown as EmscriptenModule;
  const memory = m.wasmMemory ?? m.asm?.memory;
  if (!(memory instanceof wasmApi.Memory)) throw new Error('tfjs-wasm exposes no memory');
  return memory;
}

/** A tensor's byte offset on the heap. */
export function heapOffset(backend: BackendWasm, t: TensorInfo): number {
  const data = backend.dataIdMap.get(t.dataId);
  if (data === undefined) throw new Error('tensor data is not on the wasm backend');
  return data.memoryOffset;
}

// Each pool worker: instantiate the module on the shared heap, report ready, then run part
// `part` of every published call until told to stop.
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, memory, control, names, part } = workerData;
const { exports } = new WebAssembly.Instance(module, { env: { memory } });
const fns = names.map((n) => exports[n]);
const c = new Int32Array(control, 0, ${ARGS_BYTE_OFFSET / 4});
const args = new Float64Array(control, ${ARGS_BYTE_OFFSET}, ${MAX_ARGS});
Atomics.add(c, ${READY}, 1);
Atomics.notify(c, ${READY});
let seen = 0;
for (;;) {
  const until = performance.now() + c[${SPIN_US}] / 1000;
  while (Atomics.load(c, ${GENERATION}) === seen && performance.now() < until);
  Atomics.wait(c, ${GENERATION}, seen);
  seen = Atomics.load(c, ${GENERATION});
  if (c[${KERNEL}] === ${STOP}) break;
  const parts = c[${PARTS}];
  for (let p = Atomics.add(c, ${NEXT}, 1); p < parts; p = Atomics.add(c, ${NEXT}, 1)) {
    try {
      fns[c[${KERNEL}]](...args.subarray(0, c[${ARG_COUNT}]), p, parts);
    } catch (err) {
      // The calling thread waits for DONE: report through the control block, not events.
      Atomics.store(c, ${FAILED}, 1);
      require('node:fs').writeSync(2, 'icgan wasm kernel pool: ' + String((err && err.stack) || err) + require('node:os').EOL);
    }
    Atomics.add(c, ${DONE}, 1);
    Atomics.notify(c, ${DONE});
  }
}
`;
