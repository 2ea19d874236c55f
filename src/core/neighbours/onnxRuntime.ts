import { createRequire } from 'node:module';
// Types only, from the regular dependency onnxruntime-common (the API onnxruntime-node
// re-exports): the type check never depends on whether the optional native package installed.
import type { InferenceSession, Tensor } from 'onnxruntime-common';

/** The part of ONNX Runtime the k-NN search uses. */
export interface Ort {
  InferenceSession: typeof InferenceSession;
  Tensor: typeof Tensor;
}

/** The runtime, or null and why it is not used (shown in the training log). */
export interface OrtStatus {
  ort: Ort | null;
  reason: string;
}

/** Returns the `onnxruntime-node` module or throws as `require` does. */
export type OrtLoader = () => unknown;

const PACKAGE = 'onnxruntime-node';

/** Loaded at run time (esbuild keeps it external): a missing optional package is a reason, not a crash. */
export const requireOnnxRuntime: OrtLoader = () => createRequire(__filename)(PACKAGE);

/** Runs `load` and says what happened, in words a user can act on. */
export function probeOnnxRuntime(load: OrtLoader): OrtStatus {
  let loaded: unknown;
  try {
    loaded = load();
  } catch (err) {
    return { ort: null, reason: whyNotLoaded(err) };
  }
  const ort = loaded as Partial<Ort> | null;
  if (typeof ort?.InferenceSession?.create !== 'function' || typeof ort.Tensor !== 'function') {
    return { ort: null, reason: `${PACKAGE} loaded but has no InferenceSession/Tensor API` };
  }
  return { ort: ort as Ort, reason: '' };
}

function whyNotLoaded(err: unknown): string {
  const message = err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err);
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'MODULE_NOT_FOUND' && message.includes(`'${PACKAGE}'`)) {
    return `${PACKAGE} is not installed`;
  }
  // The package resolves but `bin/napi-v6/<platform>/<arch>/` is absent: it ships no binary for
  // this platform (darwin-x64 since 1.2x), or a packaged extension was built for another one.
  if (code === 'MODULE_NOT_FOUND' && message.includes('onnxruntime_binding.node')) {
    return `${PACKAGE} has no native binary for ${process.platform}-${process.arch}`;
  }
  return `${PACKAGE} failed to load: ${message}`;
}

let cached: OrtStatus | undefined;

/** The installed runtime, probed once per process. */
export function loadOnnxRuntime(): OrtStatus {
  cached ??= probeOnnxRuntime(requireOnnxRuntime);
  return cached;
}
