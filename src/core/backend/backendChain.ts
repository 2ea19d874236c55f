// Picks the fastest TensorFlow.js backend that actually works on this machine. The native
// packages (tfjs-node, tfjs-node-gpu) are optional dependencies whose install downloads
// libtensorflow and often fails, so they are loaded at run time inside try/catch — through a
// require esbuild cannot see, keeping them out of the bundle. The WASM and CPU backends ship in
// the bundle and only need their extra gradient kernels before they can train conv nets.
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// tfjs-core alone registers no gradients (the umbrella package does); training needs them all.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { getThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import type { BackendAttempt, BackendInfo, BackendName } from '../../protocol/runnerEvents';
import { UserError } from '../errors';
import { registerLeakyReluGradient } from '../train/leakyReluGrad';
import { registerCpuConvKernels } from './cpuConvKernels';
import { registerWasmAliasKernels } from './wasmAliasKernels';
import { registerWasmConvKernels } from './wasmConvKernels';
import { registerWasmElementwiseKernels } from './wasmElementwiseKernels';
import { registerWasmLeakyGradKernel } from './wasmLeakyGradKernel';
import { registerWasmMatMulKernel } from './wasmMatMulKernel';
import { registerWasmTileKernel } from './wasmTileKernel';
import { registerWasmUpdateKernels } from './wasmUpdateKernels';
import { registerWasmSpectralNormKernels } from './wasmSpectralNormKernels';
import { registerWasmBatchNormKernels } from './wasmBatchNormKernels';
import { registerWasmMinibatchStdKernels } from './wasmMinibatchStdKernels';
import { registerWasmPadKernel } from './wasmPadKernel';
import { registerWasmAugmentKernels } from './wasmAugmentKernels';
import { takeFloats } from './tensorRead';
import { NoGpuAdapter, registerWebgpu } from './webgpuBackend';
import { findWasmPathPrefix } from './wasmPaths';
import {
  discardWasmBackend,
  wantedWasmThreads,
  wasmBackendInitialized,
  withThreadedWasm,
} from './wasmThreads';

export type { BackendAttempt, BackendName } from '../../protocol/runnerEvents';

/** What was loaded and why earlier candidates were skipped; travels in the run-started event. */
export type BackendReport = BackendInfo;

/** Fastest first: what 'auto' tries. */
export const BACKEND_ORDER: readonly BackendName[] = [
  'tfjs-node-gpu',
  'tfjs-node',
  'webgpu',
  'wasm',
  'cpu',
];

const NATIVE_PACKAGES = {
  'tfjs-node-gpu': {
    module: '@tensorflow/tfjs-node-gpu',
    missing: 'its install needs internet and CUDA 11.2',
  },
  'tfjs-node': {
    module: '@tensorflow/tfjs-node',
    missing: 'its install downloads libtensorflow and needs internet',
  },
} as const;

const nodeRequire = createRequire(__filename);

/**
 * Makes `requested` the active tfjs backend ('auto': the first of {@link BACKEND_ORDER} that
 * loads) and reports what was tried. A named backend that cannot load is a UserError.
 */
export async function initBackend(requested: BackendName | 'auto'): Promise<BackendReport> {
  const candidates = requested === 'auto' ? BACKEND_ORDER : [checkName(requested)];
  const attempts: BackendAttempt[] = [];
  // Global, not per backend: the fused kernel where a backend registers one (wasm, below), tfjs's
  // own gradient elsewhere. Here rather than at import: loading tfjs-layers (modelFeatures.ts)
  // registers every stock gradient again, and bundles may load it after this module.
  registerLeakyReluGradient();
  for (const name of candidates) {
    const started = performance.now();
    try {
      // A forced webgpu takes a software adapter too (tests, checks); auto wants a real GPU.
      const adapter = name === 'webgpu' ? await registerWebgpu(requested === 'webgpu') : null;
      const tfBackend = await loadBackend(name, attempts);
      attempts.push({ name, ok: true, ms: elapsed(started) });
      return {
        name,
        tfBackend,
        attempts,
        ...(await capabilities(name)),
        ...(adapter ? { adapter } : {}),
      };
    } catch (err) {
      attempts.push({ name, ok: false, reason: reasonFor(name, err), ms: elapsed(started) });
    }
  }
  const failed = attempts.map((a) => `${a.name}: ${a.reason}`).join('; ');
  if (requested !== 'auto') {
    throw new UserError(`backend '${requested}' could not be loaded: ${attempts[0]?.reason}`);
  }
  throw new Error(`no TensorFlow.js backend could be loaded (${failed})`);
}

function checkName(name: string): BackendName {
  if ((BACKEND_ORDER as readonly string[]).includes(name)) return name as BackendName;
  throw new UserError(`unknown backend '${name}' (expected auto, ${BACKEND_ORDER.join(', ')})`);
}

/**
 * Loads and activates one backend; returns its tfjs name or throws why it can't. A variant that
 * failed before a fallback of the same backend worked is added to `attempts`.
 */
async function loadBackend(name: BackendName, attempts: BackendAttempt[]): Promise<string> {
  switch (name) {
    case 'tfjs-node-gpu':
    case 'tfjs-node':
      nodeRequire(NATIVE_PACKAGES[name].module);
      return activate('tensorflow');
    case 'webgpu':
      return activate('webgpu');
    case 'wasm': {
      setWasmPaths(findWasmPathPrefix());
      // ICGAN_WASM_NATIVE=0 keeps tfjs-wasm's own element-wise kernels, its copying Identity and
      // Cast, the composite Adam, EMA, spectral-norm, batch-norm and minibatch-std ops, MirrorPad +
      // CropAndResize for the encoder's views and the stock LeakyRelu gradient, sends every
      // matrix product to the stock kernel, the conv filter gradient and forward conv to XNNPACK
      // and the conv input gradient to XNNPACK's GEMM or conv (before/after comparisons).
      const native = process.env['ICGAN_WASM_NATIVE'] !== '0';
      registerWasmConvKernels({
        nativeFilterGrad: native,
        nativeForward: native,
        nativeInputGrad: native,
      });
      registerWasmMatMulKernel({ native });
      registerWasmTileKernel();
      registerWasmPadKernel();
      if (native) {
        registerWasmAliasKernels();
        registerWasmElementwiseKernels();
        registerWasmUpdateKernels();
        registerWasmSpectralNormKernels();
        registerWasmBatchNormKernels();
        registerWasmMinibatchStdKernels();
        registerWasmAugmentKernels();
        registerWasmLeakyGradKernel();
      }
      return activateWasm(attempts);
    }
    case 'cpu':
      registerCpuConvKernels();
      return activate('cpu');
  }
}

/**
 * The threaded-SIMD build when more than one thread is wanted (see wasmThreads.ts), else, or if
 * that fails, the single-threaded SIMD build. The first init in a process fixes the build.
 */
async function activateWasm(attempts: BackendAttempt[]): Promise<string> {
  if (wasmBackendInitialized()) return activate('wasm');
  const started = performance.now();
  let threads = 1;
  try {
    threads = wantedWasmThreads();
    if (threads > 1) return await withThreadedWasm(threads, () => activate('wasm'));
  } catch (err) {
    discardWasmBackend();
    const what = threads > 1 ? `${threads} threads` : 'threads';
    attempts.push({
      name: 'wasm',
      ok: false,
      reason: `${what}: ${firstLine(err)} (using the single-threaded build)`,
      ms: elapsed(started),
    });
  }
  return activate('wasm');
}

async function activate(tfBackend: string): Promise<string> {
  // PROD silences tfjs's console notices (e.g. the CPU backend's "install tfjs-node" banner),
  // which would otherwise interleave with the CLI's output and the runner's log.
  tf.env().set('PROD', true);
  if (!(await tf.setBackend(tfBackend))) {
    throw new Error(`tfjs could not initialise backend '${tfBackend}'`);
  }
  await tf.ready();
  const sum = await takeFloats(tf.tidy(() => tf.add(tf.tensor1d([1, 2]), tf.scalar(3))));
  if (sum[0] !== 4 || sum[1] !== 5) throw new Error(`backend '${tfBackend}' computed 1+3 wrong`);
  return tfBackend;
}

async function capabilities(name: BackendName): Promise<{ threads: number; simd: boolean | null }> {
  switch (name) {
    case 'wasm':
      return {
        threads: getThreadsCount(),
        simd: Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')),
      };
    case 'cpu':
    case 'webgpu':
      return { threads: 1, simd: null };
    default:
      // libtensorflow sizes its intra-op thread pool to the core count.
      return { threads: os.cpus().length, simd: null };
  }
}

function reasonFor(name: BackendName, err: unknown): string {
  if (err instanceof NoGpuAdapter) return err.message;
  if (name === 'tfjs-node-gpu' || name === 'tfjs-node') {
    const pkg = NATIVE_PACKAGES[name];
    if (isMissingModule(err, pkg.module)) {
      return `module not installed (${pkg.module} is an optional dependency; ${pkg.missing})`;
    }
  }
  return firstLine(err);
}

/** MODULE_NOT_FOUND for the package itself, not for something it requires. */
function isMissingModule(err: unknown, module: string): boolean {
  if (!(err instanceof Error) || (err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') {
    return false;
  }
  return err.message.includes(`'${module}'`);
}

function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n', 1)[0]?.trim() || 'unknown error';
}

function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}
