// Bundles the engine's entry points into dist/. TensorFlow.js (core, CPU and WASM backends) is
// bundled; the native pieces stay external and load from node_modules at run time: sharp (its
// libvips ships per platform in @img/* packages) and the optional tfjs-node packages (loaded only
// if their install succeeded). The WASM binaries are copied next to the bundles, where
// src/core/backend/wasmPaths.ts looks first.
const esbuild = require('esbuild');
const fs = require('node:fs');
const path = require('node:path');

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

const external = ['sharp', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'vscode'];

/** @type {import('esbuild').BuildOptions} */
const node = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  minify: production,
  external,
  logLevel: 'warning',
  // tfjs registers its backends and kernels as import side effects, which its packages'
  // "sideEffects" fields would let the bundler drop.
  ignoreAnnotations: true,
};

const targets = [
  { ...node, entryPoints: { cli: 'src/runner/cli.ts' }, outdir: 'dist' },
  { ...node, entryPoints: { runner: 'src/runner/ipcRunner.ts' }, outdir: 'dist' },
];

function copyWasmBinaries() {
  const from = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
  for (const file of fs.readdirSync(from).filter((f) => f.endsWith('.wasm'))) {
    fs.copyFileSync(path.join(from, file), path.join('dist', file));
  }
}

async function main() {
  fs.mkdirSync('dist', { recursive: true });
  copyWasmBinaries();
  if (watch) {
    for (const t of targets) await (await esbuild.context(t)).watch();
    return;
  }
  await Promise.all(targets.map((t) => esbuild.build(t)));
  fs.chmodSync('dist/cli.js', 0o755);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
