// The first line `npm test` and `npm run demo` print: which TensorFlow.js backend and which k-NN
// engine this machine ends up with, so a log shows at a glance whether the fast paths installed.
// Run directly (`node dist/engines.js`, `tsx src/runner/engines.ts`) it prints that line.
import { initBackend, type BackendReport } from '../core/backend/backendChain';
import { loadOnnxRuntime, type OrtStatus } from '../core/neighbours/onnxRuntime';

export function enginesLine(backend: BackendReport, knn: OrtStatus): string {
  const skipped = backend.attempts.filter((a) => !a.ok && a.name !== backend.name);
  const threads = backend.name === 'wasm' ? `, ${backend.threads} threads` : '';
  const tried = skipped.length ? `; not loaded: ${skipped.map((a) => a.name).join(', ')}` : '';
  const search = knn.ort ? 'onnxruntime (onnxruntime-node, CPU)' : `tfjs (${knn.reason})`;
  return `engines: tfjs backend ${backend.name}${threads}${tried} · k-NN search ${search}`;
}

async function main(): Promise<void> {
  const backend = await initBackend('auto');
  process.stdout.write(`${enginesLine(backend, loadOnnxRuntime())}\n`);
}

if (require.main === module) {
  main().then(
    // The WASM backend's worker threads would keep the process alive.
    () => process.exit(0),
    (err: unknown) => {
      console.error(`engines: ${(err as Error).message}`);
      process.exit(1);
    },
  );
}
