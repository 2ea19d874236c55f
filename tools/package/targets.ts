import type { NativeCpu, NativeOs } from './nativeHeader';

/**
 * The platforms a .vsix is built for, and the native files each must carry. Only the runner loads
 * native code, from node_modules next to the bundles: sharp (its libvips, one @img package per
 * platform), onnxruntime-node (the fast k-NN) and webgpu (Dawn's dawn.node, the webgpu backend).
 * The last two carry every platform's binaries in one npm package, so packaging keeps only the
 * target's.
 */
export interface Target {
  /** VS Code's target name (`vsce package --target`). */
  id: string;
  os: NativeOs;
  cpu: Exclude<NativeCpu, 'other'>;
  /**
   * onnxruntime-node's files for this platform (in bin/napi-v6/<os>/<cpu>/) that the CPU path
   * loads: the binding and the runtime it links. Null: the package has no binaries for it
   * (darwin-x64 since 1.2x), so the .vsix leaves it out and the runner searches on tfjs.
   */
  onnxFiles: readonly string[] | null;
  /** The folder of node_modules/webgpu/dist/ that webgpu's index.js loads dawn.node from. */
  webgpuDist: string;
  /** The native files in that folder that the webgpu backend loads. */
  webgpuFiles: readonly string[];
  /** Archive paths (regexes) of native files that must be present. */
  required: readonly RegExp[];
}

const sharp = (plat: string, libvips: RegExp): RegExp[] => [
  new RegExp(`^extension/node_modules/@img/sharp-${plat}/lib/sharp-${plat}[-.0-9]*\\.node$`),
  libvips,
];

const onnx = (os: string, cpu: string, files: readonly string[]): RegExp[] =>
  files.map(
    (f) =>
      new RegExp(
        `^extension/node_modules/onnxruntime-node/bin/napi-v6/${os}/${cpu}/${f.replace(/\./g, '\\.')}$`,
      ),
  );

const ONNX_LINUX = ['onnxruntime_binding.node', 'libonnxruntime.so.1'];
// The binding links @rpath/libonnxruntime.1.dylib; libonnxruntime.1.30.0.dylib is an identical copy.
const ONNX_DARWIN = ['onnxruntime_binding.node', 'libonnxruntime.1.dylib'];
// DirectML.dll, dxcompiler.dll and dxil.dll serve the DirectML and WebGPU providers only.
const ONNX_WIN32 = ['onnxruntime_binding.node', 'onnxruntime.dll'];

const PLATFORMS: readonly Omit<Target, 'webgpuDist' | 'webgpuFiles'>[] = [
  {
    id: 'linux-x64',
    os: 'linux',
    cpu: 'x64',
    onnxFiles: ONNX_LINUX,
    required: [
      ...sharp(
        'linux-x64',
        /^extension\/node_modules\/@img\/sharp-libvips-linux-x64\/lib\/libvips-cpp\.so\.[.0-9]+$/,
      ),
      ...onnx('linux', 'x64', ONNX_LINUX),
    ],
  },
  {
    id: 'linux-arm64',
    os: 'linux',
    cpu: 'arm64',
    onnxFiles: ONNX_LINUX,
    required: [
      ...sharp(
        'linux-arm64',
        /^extension\/node_modules\/@img\/sharp-libvips-linux-arm64\/lib\/libvips-cpp\.so\.[.0-9]+$/,
      ),
      ...onnx('linux', 'arm64', ONNX_LINUX),
    ],
  },
  {
    id: 'darwin-arm64',
    os: 'darwin',
    cpu: 'arm64',
    onnxFiles: ONNX_DARWIN,
    required: [
      ...sharp(
        'darwin-arm64',
        /^extension\/node_modules\/@img\/sharp-libvips-darwin-arm64\/lib\/libvips-cpp\.[.0-9]+\.dylib$/,
      ),
      ...onnx('darwin', 'arm64', ONNX_DARWIN),
    ],
  },
  {
    id: 'darwin-x64',
    os: 'darwin',
    cpu: 'x64',
    onnxFiles: null,
    required: sharp(
      'darwin-x64',
      /^extension\/node_modules\/@img\/sharp-libvips-darwin-x64\/lib\/libvips-cpp\.[.0-9]+\.dylib$/,
    ),
  },
  {
    id: 'win32-x64',
    os: 'win32',
    cpu: 'x64',
    onnxFiles: ONNX_WIN32,
    required: [
      ...sharp(
        'win32-x64',
        /^extension\/node_modules\/@img\/sharp-win32-x64\/lib\/libvips-[-.0-9a-z]+\.dll$/,
      ),
      ...onnx('win32', 'x64', ONNX_WIN32),
    ],
  },
];

/**
 * webgpu's own rule (its index.js): `dist/${process.platform}-${arch}`, where arch is 'universal'
 * on macOS — one fat dawn.node serves both Mac CPUs.
 */
const webgpuDist = (os: NativeOs, cpu: string): string =>
  `${os}-${os === 'darwin' ? 'universal' : cpu}`;

// Windows' dawn.node compiles shaders with the DirectX compilers it loads from its own folder.
const DAWN_FILES: Record<NativeOs, readonly string[]> = {
  linux: ['dawn.node'],
  darwin: ['dawn.node'],
  win32: ['dawn.node', 'd3dcompiler_47.dll', 'dxcompiler.dll'],
};

export const TARGETS: readonly Target[] = PLATFORMS.map((platform) => {
  const dist = webgpuDist(platform.os, platform.cpu);
  const files = DAWN_FILES[platform.os];
  const dawn = files.map(
    (f) => new RegExp(`^extension/node_modules/webgpu/dist/${dist}/${f.replace(/\./g, '\\.')}$`),
  );
  return {
    ...platform,
    webgpuDist: dist,
    webgpuFiles: files,
    required: [...platform.required, ...dawn],
  };
});

export function findTarget(id: string): Target {
  const target = TARGETS.find((t) => t.id === id);
  if (!target)
    throw new Error(`unknown target '${id}' (one of ${TARGETS.map((t) => t.id).join(', ')})`);
  return target;
}

/** `vsce package` writes the .vsix of a target here, in the project root. */
export const vsixName = (target: Target): string => `icgan-studio-${target.id}.vsix`;
