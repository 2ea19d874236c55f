// The webgpu backend: tfjs-backend-webgpu on Dawn's Node binding (the optional `webgpu`
// package, dawn.node). Dawn drives Vulkan on Linux, Metal on macOS and D3D12 on Windows, so a
// GPU trains without CUDA or a download at install time. Software adapters (lavapipe,
// SwiftShader) work but are slower than wasm: 'auto' skips them, `--backend webgpu` takes them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { GpuAdapterInfo } from '../../protocol/runnerEvents';

/** What a usable adapter needs and does not have, for the skip reason or the error. */
export class NoGpuAdapter extends Error {}

interface GpuAdapterLike {
  info?: { vendor?: string; architecture?: string; description?: string; device?: string };
  isFallbackAdapter?: boolean;
  requestDevice(descriptor?: unknown): Promise<unknown>;
  features: Iterable<string>;
  limits: Record<string, number>;
}

interface GpuLike {
  requestAdapter(options?: { powerPreference?: string }): Promise<GpuAdapterLike | null>;
}

interface DawnModule {
  create(flags: string[]): GpuLike;
  globals: Record<string, unknown>;
}

const SOFTWARE = /llvmpipe|lavapipe|swiftshader|software|cpu/i;

/** Whether an adapter is a CPU rasteriser rather than a GPU. */
export function isSoftwareAdapter(
  info: Omit<GpuAdapterInfo, 'software'>,
  fallback = false,
): boolean {
  return fallback || SOFTWARE.test(`${info.vendor} ${info.architecture} ${info.description}`);
}

/** The environment's likely reason for having no adapter on Linux, named for the user. */
export function missingVulkanHint(env: NodeJS.ProcessEnv = process.env): string {
  if (process.platform !== 'linux') return 'no WebGPU adapter (is a GPU driver installed?)';
  const caps = env.NVIDIA_DRIVER_CAPABILITIES;
  if (caps !== undefined && !/\b(all|graphics)\b/.test(caps)) {
    return `no Vulkan adapter: this container's NVIDIA_DRIVER_CAPABILITIES is '${caps}', which lacks 'graphics' (Vulkan needs it)`;
  }
  return 'no Vulkan adapter: needs the Vulkan loader (libvulkan.so.1) and a GPU driver with a Vulkan ICD (e.g. nvidia_icd.json, mesa-vulkan-drivers)';
}

/**
 * Whether the dynamic loader can find libvulkan.so.1 (Linux): in LD_LIBRARY_PATH or in the loader's
 * cache. Checked before dawn.node loads, because Dawn prints "Couldn't load Vulkan" on stderr when
 * it is missing — noise on every `auto` start of a machine without Vulkan. Elsewhere, and where
 * the cache can't be read, Dawn itself decides.
 */
export function vulkanLoaderFindable(
  env: NodeJS.ProcessEnv = process.env,
  cacheFile = '/etc/ld.so.cache',
): boolean {
  if (process.platform !== 'linux') return true;
  const lib = 'libvulkan.so.1';
  for (const dir of (env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean)) {
    if (fs.existsSync(path.join(dir, lib))) return true;
  }
  try {
    return fs.readFileSync(cacheFile).includes(lib);
  } catch {
    return true;
  }
}

let dawn: { gpu: GpuLike; module: DawnModule } | null = null;

async function loadDawn(): Promise<{ gpu: GpuLike; module: DawnModule }> {
  if (dawn) return dawn;
  if (!vulkanLoaderFindable()) throw new NoGpuAdapter(missingVulkanHint());
  let module: DawnModule;
  try {
    // ESM-only package, loaded at run time and kept out of the bundle (dawn.node is native).
    const specifier = 'webgpu';
    module = (await import(specifier)) as DawnModule;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (/Cannot find (module|package) 'webgpu'/.test(message)) {
      throw new NoGpuAdapter(
        'module not installed (webgpu is an optional dependency with Dawn for this platform)',
      );
    }
    throw new NoGpuAdapter(`dawn.node could not be loaded: ${message.split('\n', 1)[0]}`);
  }
  dawn = { gpu: module.create([]), module };
  return dawn;
}

/**
 * Finds the adapter, registers tfjs's webgpu backend on it and returns what it is. `allowSoftware`
 * false: a software adapter is refused with the reason (auto). No adapter: NoGpuAdapter naming
 * what is missing.
 */
export async function registerWebgpu(allowSoftware: boolean): Promise<GpuAdapterInfo> {
  const { gpu, module } = await loadDawn();
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new NoGpuAdapter(missingVulkanHint());
  const raw = adapter.info ?? {};
  const base = {
    vendor: raw.vendor ?? '',
    architecture: raw.architecture ?? '',
    description: raw.description || raw.device || '',
  };
  const info: GpuAdapterInfo = {
    ...base,
    software: isSoftwareAdapter(base, adapter.isFallbackAdapter === true),
  };
  if (info.software && !allowSoftware) {
    throw new NoGpuAdapter(
      `only a software adapter (${describeAdapter(info)}), slower than wasm; --backend webgpu uses it anyway`,
    );
  }
  // tfjs-backend-webgpu checks for navigator.gpu when it is imported, so it is imported here,
  // after Dawn's globals (GPUBufferUsage, …) and navigator exist.
  Object.assign(globalThis, module.globals);
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (!g.navigator)
    Object.defineProperty(globalThis, 'navigator', {
      value: {},
      configurable: true,
      writable: true,
    });
  (g.navigator as { gpu?: unknown }).gpu = gpu;
  const { WebGPUBackend } = await import('@tensorflow/tfjs-backend-webgpu');
  const device = await adapter.requestDevice({
    requiredFeatures: [...adapter.features].filter((f) => f === 'timestamp-query'),
    requiredLimits: {
      maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize,
      maxComputeWorkgroupsPerDimension: adapter.limits.maxComputeWorkgroupsPerDimension,
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      maxBufferSize: adapter.limits.maxBufferSize,
      maxComputeWorkgroupSizeX: adapter.limits.maxComputeWorkgroupSizeX,
      maxComputeInvocationsPerWorkgroup: adapter.limits.maxComputeInvocationsPerWorkgroup,
    },
  });
  // Kernels are registered under 'webgpu': the backend must keep that name (gpu-webgpu.md).
  if (tf.findBackend('webgpu')) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => new WebGPUBackend(device as never, raw as never), 3);
  return info;
}

/** "NVIDIA · ampere · NVIDIA H100 80GB HBM3" */
export function describeAdapter(a: Omit<GpuAdapterInfo, 'software'>): string {
  return [a.vendor, a.architecture, a.description].filter(Boolean).join(' · ') || 'unnamed adapter';
}

/**
 * Lets the process exit: Node stays alive while Dawn's instance is referenced. Called when the
 * CLI is done; a later registerWebgpu loads it again.
 */
export function releaseWebgpu(): void {
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (g.navigator) delete g.navigator.gpu;
  dawn = null;
}
