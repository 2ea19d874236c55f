// Runs in a child process with a Vulkan ICD in its environment (test/unit/webgpu.test.ts, the
// device check): every kernel a training step uses, and whole training steps, on webgpu against
// wasm. Prints one JSON line (KernelCheckReport).
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend/backendChain';
import { resolveConfig } from '../../src/core/config/loadConfig';
import { createShapesDataset } from '../../src/core/data/shapesDataset';
import { TrainingSession } from '../../src/core/train/trainingSession';
import type { GpuAdapterInfo } from '../../src/protocol/runnerEvents';
import { syntheticInstances } from '../support/syntheticInstances';
import { fixedTensor as fixed } from '../support/fixedTensor';

export interface KernelCheckReport {
  adapter: GpuAdapterInfo | null;
  /** Largest |webgpu − wasm| / (1 + |wasm|) per op or step figure. */
  errors: Record<string, number>;
  /** Tensors left behind by steps 2 and 3 per model on webgpu (0 = flat). */
  leaks: Record<string, number>;
  losses: Record<string, number[]>;
}

/** The ops of a cgan/icgan step, forward and backward (conv, transposed conv, bn, dense). */
function kernels(): Record<string, tf.Tensor> {
  const x = fixed([4, 8, 8, 6], 1) as tf.Tensor4D;
  const w = fixed([4, 4, 6, 8], 2) as tf.Tensor4D;
  const dy = fixed([4, 4, 4, 8], 3) as tf.Tensor4D;
  const a = fixed([16, 24], 4) as tf.Tensor2D;
  const b = fixed([24, 12], 5) as tf.Tensor2D;
  const conv = (xi: tf.Tensor, wi: tf.Tensor): tf.Scalar =>
    tf.sum(tf.leakyRelu(tf.conv2d(xi as tf.Tensor4D, wi as tf.Tensor4D, 2, 'same'), 0.2));
  const [dx, dw] = tf.grads(conv)([x, w]);
  const deconv = (di: tf.Tensor, wi: tf.Tensor): tf.Scalar =>
    tf.sum(
      tf.tanh(tf.conv2dTranspose(di as tf.Tensor4D, wi as tf.Tensor4D, [4, 8, 8, 6], 2, 'same')),
    );
  const [ddy, ddw] = tf.grads(deconv)([dy, w]);
  const m = tf.moments(x, [0, 1, 2]);
  const bn = (xi: tf.Tensor): tf.Scalar => {
    const mo = tf.moments(xi, [0, 1, 2]);
    return tf.sum(tf.relu(tf.div(tf.sub(xi, mo.mean), tf.sqrt(tf.add(mo.variance, 1e-5)))));
  };
  const [dbn] = tf.grads(bn)([x]);
  const logits = tf.matMul(a, b);
  const labels = tf.oneHot(
    tf.tensor1d([0, 3, 1, 2, 5, 4, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'int32'),
    12,
  );
  return {
    conv2d: tf.conv2d(x, w, 2, 'same'),
    conv2dGradX: dx!,
    conv2dGradW: dw!,
    conv2dTranspose: tf.conv2dTranspose(dy, w, [4, 8, 8, 6], 2, 'same'),
    conv2dTransposeGradDy: ddy!,
    conv2dTransposeGradW: ddw!,
    batchNormGrad: dbn!,
    moments: tf.concat([m.mean, m.variance]),
    matMul: logits,
    matMulGrad: tf.grads((ai: tf.Tensor) => tf.sum(tf.square(tf.matMul(ai as tf.Tensor2D, b))))([
      a,
    ])[0]!,
    softplus: tf.softplus(logits),
    sigmoidCrossEntropy: tf.losses.sigmoidCrossEntropy(labels, logits),
    gatherEmbedding: tf.gather(b, tf.tensor1d([0, 5, 5, 23], 'int32')),
    l2Normalise: tf.div(a, tf.norm(a, 'euclidean', 1, true)),
    meanSquare: tf.mean(tf.square(a)),
  };
}

async function readAll(
  build: () => Record<string, tf.Tensor>,
): Promise<Record<string, Float32Array>> {
  const out = build();
  const values: Record<string, Float32Array> = {};
  for (const [k, t] of Object.entries(out)) values[k] = (await t.data()) as Float32Array;
  tf.dispose(Object.values(out));
  return values;
}

/** Two training steps: their losses, then every generator weight. */
async function steps(
  type: 'cgan' | 'icgan',
  leaks: Record<string, number>,
): Promise<Record<string, Float32Array>> {
  const cfg = resolveConfig(
    {
      seed: 3,
      data: { source: 'shapes', count: 64, resolution: 16 },
      model: { type, zDim: 16, gWidth: 8, dWidth: 8, embedDim: 8 },
      training: { batchSize: 8 },
      instances: { k: 4 },
    },
    '/tmp/kernel-check.icgan.json',
  );
  const data = createShapesDataset(cfg.data as never);
  const session = new TrainingSession(
    cfg,
    data,
    type === 'icgan' ? syntheticInstances(data.count, 16, 4) : null,
  );
  const losses: number[] = [];
  let afterFirst = 0;
  for (let i = 0; i < 3; i++) {
    const s = await session.trainStep();
    if (i < 2) losses.push(s.dLoss, s.gLoss, s.dReal, s.dFake);
    if (i === 0) afterFirst = tf.memory().numTensors;
  }
  leaks[type] = tf.memory().numTensors - afterFirst;
  const out: Record<string, Float32Array> = { [`${type}.losses`]: Float32Array.from(losses) };
  for (const [name, v] of session.model.generatorParams)
    out[`${type}.G/${name}`] = (await v.data()) as Float32Array;
  session.dispose();
  return out;
}

function relErr(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < a.length; i++)
    worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / (1 + Math.abs(b[i]!)));
  return worst;
}

/** Kernels and two training steps on webgpu against `reference` (wasm in tests, cpu on a GPU box). */
export async function compareWithWebgpu(reference: 'wasm' | 'cpu'): Promise<KernelCheckReport> {
  const results: Record<string, Record<string, Float32Array>> = {};
  const leaks: Record<string, number> = {};
  let adapter: GpuAdapterInfo | null = null;
  const losses: Record<string, number[]> = {};
  for (const backend of [reference, 'webgpu'] as const) {
    const report = await initBackend(backend);
    if (backend === 'webgpu') adapter = report.adapter ?? null;
    const r = await readAll(kernels);
    const runLeaks: Record<string, number> = {};
    Object.assign(r, await steps('cgan', runLeaks), await steps('icgan', runLeaks));
    if (backend === 'webgpu') Object.assign(leaks, runLeaks);
    results[backend] = r;
    losses[backend] = [...(r['cgan.losses'] ?? []), ...(r['icgan.losses'] ?? [])];
  }
  const errors: Record<string, number> = {};
  const ref = results[reference]!;
  const gpu = results.webgpu!;
  for (const [k, v] of Object.entries(ref)) {
    const group = k.includes('.G/') ? `${k.split('.')[0]}.weights` : k;
    errors[group] = Math.max(errors[group] ?? 0, relErr(gpu[k] ?? new Float32Array(0), v));
  }
  return { adapter, errors, leaks, losses };
}

async function main(): Promise<void> {
  const report = await compareWithWebgpu('wasm');
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
