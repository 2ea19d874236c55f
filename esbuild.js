// Bundles the engine's entry points into dist/. TensorFlow.js (core, CPU and WASM backends) is
// bundled; the native pieces stay external and load from node_modules at run time: sharp (its
// libvips ships per platform in @img/* packages) and the optional tfjs-node packages (loaded only
// if their install succeeded). The WASM binaries, and the JS files the threaded WASM build loads
// at run time, are copied next to the bundles, where src/core/backend/wasmPaths.ts looks first.
const esbuild = require('esbuild');
const fs = require('node:fs');
const path = require('node:path');

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

const external = [
  'sharp',
  '@tensorflow/tfjs-node',
  '@tensorflow/tfjs-node-gpu',
  'onnxruntime-node',
  'vscode',
];

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

// The extension host bundle must not pull in TensorFlow: it only forks dist/runner.js.
// esbuild.js fails the build if it does (see checkExtensionBundle below).
const targets = [
  { ...node, entryPoints: { cli: 'src/runner/cli.ts' }, outdir: 'dist' },
  { ...node, entryPoints: { runner: 'src/runner/ipcRunner.ts' }, outdir: 'dist' },
  // The one-line "which backend, which k-NN engine" report `npm run demo` starts with.
  { ...node, entryPoints: { engines: 'src/runner/engines.ts' }, outdir: 'dist' },
  {
    ...node,
    entryPoints: { extension: 'src/extension/extension.ts' },
    // Activation time is measured from the first line of the bundle (logged by activate()).
    banner: { js: 'globalThis.__icganLoadStart = performance.now();' },
    outdir: 'dist',
    metafile: true,
  },
  {
    bundle: true,
    platform: 'browser',
    target: 'es2022',
    format: 'iife',
    sourcemap: true,
    minify: production,
    logLevel: 'warning',
    entryPoints: { webview: 'webview/main.ts' },
    outdir: 'dist',
  },
];

/** The dashboard's stylesheet: uPlot's own CSS, then ours (theme variables override it). */
function writeWebviewCss() {
  const parts = [
    require.resolve('uplot/dist/uPlot.min.css'),
    path.join('webview', 'dashboard.css'),
  ];
  fs.writeFileSync(
    path.join('dist', 'webview.css'),
    parts.map((p) => fs.readFileSync(p, 'utf8')).join('\n'),
  );
}

function checkExtensionBundle(result) {
  const inputs = Object.keys(result.metafile?.inputs ?? {});
  const tf = inputs.filter((f) => f.includes('@tensorflow') || f.includes('/sharp/'));
  if (tf.length > 0) {
    throw new Error(
      `dist/extension.js must not bundle TensorFlow or sharp: ${tf.slice(0, 3).join(', ')}`,
    );
  }
}

function copyWasmBinaries() {
  const from = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
  for (const file of fs.readdirSync(from).filter((f) => f.endsWith('.wasm'))) {
    fs.copyFileSync(path.join(from, file), path.join('dist', file));
  }
  // The threaded build's run-time JS (src/core/backend/wasmThreads.ts): the package's standalone
  // glue and pthread worker source, and our worker entry. wasmPaths.ts looks for them here.
  const wasmOut = path.join(from, '..', 'wasm-out');
  for (const file of [
    path.join(wasmOut, 'tfjs-backend-wasm-threaded-simd.js'),
    path.join(wasmOut, 'tfjs-backend-wasm-threaded-simd.worker.js'),
    path.join('src', 'core', 'backend', 'wasmPthreadWorker.js'),
    // Our own kernels (src/core/backend/wasmNativeKernels.ts; built by scripts/build-wasm.sh).
    path.join('src', 'core', 'backend', 'icganKernels.wasm'),
    path.join('src', 'core', 'backend', 'icganKernels-shared.wasm'),
  ]) {
    fs.copyFileSync(file, path.join('dist', path.basename(file)));
  }
}

async function main() {
  fs.mkdirSync('dist', { recursive: true });
  copyWasmBinaries();
  writeWebviewCss();
  if (watch) {
    for (const t of targets) await (await esbuild.context(t)).watch();
    return;
  }
  const results = await Promise.all(targets.map((t) => esbuild.build(t)));
  checkExtensionBundle(results[3]);
  fs.chmodSync('dist/cli.js', 0o755);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
