import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Target } from './targets';

/**
 * A folder holding exactly what one platform's .vsix ships: the manifest, the production bundles,
 * and a node_modules that npm installed for that platform (`--os/--cpu/--libc`, so another
 * platform's optional binaries come from the registry), pruned to what the runner loads.
 * `vsce package` then runs in it; the project's own node_modules (this machine's binaries and the
 * dev tools) never enter a .vsix.
 */

/** What the extension ships besides node_modules; .vscodeignore narrows it further. */
const COPIED = ['README.md', 'LICENSE', 'dist', 'schemas', 'media', 'examples', '.vscodeignore'];

/** The packages the bundles leave external and the runner requires at run time. */
const RUNTIME_PACKAGES = ['sharp', 'onnxruntime-node', 'webgpu'] as const;

interface Manifest {
  dependencies?: Record<string, string>;
  [key: string]: unknown;
}

/** The versions the project's lockfile pins, so every .vsix ships what the tests ran against. */
function lockedVersion(root: string, name: string): string {
  const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version?: string }>;
  };
  const version = lock.packages[`node_modules/${name}`]?.version;
  if (!version) throw new Error(`${name} is not in package-lock.json`);
  return version;
}

/**
 * The extension's manifest for the staging folder: the project's, with the runtime packages as its
 * only dependencies (vsce packs what `npm ls --production` lists) and without the build scripts
 * (vsce would run `vscode:prepublish` there; the bundles are built before staging).
 */
function stagedManifest(root: string, target: Target): Manifest {
  const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as Manifest;
  const dependencies: Record<string, string> = {};
  for (const name of RUNTIME_PACKAGES) {
    if (name === 'onnxruntime-node' && !target.onnxFiles) continue;
    dependencies[name] = lockedVersion(root, name);
  }
  for (const key of ['scripts', 'devDependencies', 'optionalDependencies', 'allowScripts']) {
    delete manifest[key];
  }
  return { ...manifest, dependencies };
}

export function stage(
  root: string,
  target: Target,
  dir: string,
  log: (line: string) => void,
): void {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  for (const item of COPIED) {
    fs.cpSync(path.join(root, item), path.join(dir, item), { recursive: true });
  }
  // The `npm test` / `npm run demo` start-up report is a development tool.
  fs.rmSync(path.join(dir, 'dist', 'engines.js'));
  fs.writeFileSync(
    path.join(dir, 'package.json'),
    `${JSON.stringify(stagedManifest(root, target), null, 2)}\n`,
  );
  const args = ['install', `--os=${target.os}`, `--cpu=${target.cpu}`];
  if (target.os === 'linux') args.push('--libc=glibc');
  // No install scripts: none of the runtime packages needs one (their binaries are prebuilt), and
  // another platform's could not run here anyway.
  args.push('--ignore-scripts', '--omit=dev', '--no-audit', '--no-fund', '--no-package-lock');
  log(`${target.id}: npm ${args.join(' ')}`);
  execFileSync('npm', args, { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  pruneOnnxRuntime(path.join(dir, 'node_modules', 'onnxruntime-node'), target);
  pruneWebgpu(path.join(dir, 'node_modules', 'webgpu'), target);
}

/**
 * webgpu carries dawn.node for five platforms (~130 MB): keep the target's dist folder, whose
 * Windows DLLs dawn.node loads from beside itself. index.js needs nothing else of the package but
 * package.json (its "type": "module"); its dependencies (debug, @webgpu/types) serve its build
 * scripts and types, and .vscodeignore leaves them out.
 */
export function pruneWebgpu(pkg: string, target: Target): void {
  const dist = path.join(pkg, 'dist');
  for (const dir of fs.readdirSync(dist)) {
    if (dir !== target.webgpuDist) fs.rmSync(path.join(dist, dir), { recursive: true });
  }
  const missing = target.webgpuFiles.filter(
    (f) => !fs.existsSync(path.join(dist, target.webgpuDist, f)),
  );
  if (missing.length) throw new Error(`webgpu for ${target.id} lacks ${missing.join(', ')}`);
}

/**
 * onnxruntime-node carries every platform's binaries (~290 MB): keep the target's CPU files only.
 * Its other dependencies (adm-zip, global-agent) serve its install script, and .vscodeignore
 * leaves them out.
 */
function pruneOnnxRuntime(pkg: string, target: Target): void {
  if (!target.onnxFiles) return;
  const bin = path.join(pkg, 'bin', 'napi-v6');
  const keep = path.join(bin, target.os, target.cpu);
  for (const os of fs.readdirSync(bin)) {
    for (const cpu of fs.readdirSync(path.join(bin, os))) {
      const dir = path.join(bin, os, cpu);
      if (dir !== keep) fs.rmSync(dir, { recursive: true });
    }
  }
  for (const file of fs.readdirSync(keep)) {
    if (!target.onnxFiles.includes(file)) fs.rmSync(path.join(keep, file));
  }
  const missing = target.onnxFiles.filter((f) => !fs.existsSync(path.join(keep, f)));
  if (missing.length)
    throw new Error(`onnxruntime-node for ${target.id} lacks ${missing.join(', ')}`);
}
