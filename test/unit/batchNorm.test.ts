import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend/backendChain';
import {
  averageStats,
  batchNorm,
  conditionalBatchNorm,
  type BnMode,
  type BnStats,
} from '../../src/core/models/layers';
import {
  registerWasmBatchNormKernels,
  unregisterWasmBatchNormKernels,
} from '../../src/core/backend/wasmBatchNormKernels';
import { BATCH_NORM, BATCH_NORM_GRAD } from '../../src/core/models/fusedBatchNorm';
import { fixedTensor, liveTensors } from '../support/fixedTensor';
import { kernelsWithAndWithout, threaded } from '../support/kernelChecks';

// Batch norm normalises with the batch statistics inside one op whose gradient is written out
// (layers.ts batchNormalised). The reference is the plain autodiff formulation — moments,
// subtract, scale, all taped — which must give the same output and the same gradients for x and
// every parameter, in both batch norms and for [B, C] and [B, H, W, C] inputs.

const EPS = 1e-5;

function tapedNorm(x: tf.Tensor): tf.Tensor {
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const { mean, variance } = tf.moments(x, axes);
  return tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, EPS)));
}

function close(a: tf.Tensor, b: tf.Tensor, tol: number, what: string): void {
  assert.deepEqual(a.shape, b.shape, `${what}: shape`);
  const [x, y] = [a.dataSync(), b.dataSync()];
  let scale = 0;
  for (const v of y) scale = Math.max(scale, Math.abs(v));
  assert.ok(scale > 0, `${what}: all zero`);
  for (let i = 0; i < x.length; i++) {
    const d = Math.abs((x[i] as number) - (y[i] as number));
    assert.ok(d <= tol * scale, `${what}: element ${i} is ${x[i]}, expected ${y[i]}`);
  }
}

function params(channels: number, condDim: number): Map<string, tf.Variable> {
  const p = new Map<string, tf.Variable>();
  const add = (name: string, shape: number[], seed: number) =>
    p.set(
      name,
      tf.tidy(() => tf.variable(fixedTensor(shape, seed, 0.5), true)),
    );
  add('bn.gamma', [channels], 21);
  add('bn.beta', [channels], 22);
  add('bn.gain.w', [condDim, channels], 23);
  add('bn.gain.b', [channels], 24);
  add('bn.shift.w', [condDim, channels], 25);
  add('bn.shift.b', [channels], 26);
  return p;
}

describe('batch norm (batch statistics in one op, gradient written out)', function () {
  before(async () => {
    await initBackend('wasm');
  });

  for (const shape of [
    [8, 24],
    [6, 5, 3, 16],
    [32, 4, 4, 7],
  ]) {
    const channels = shape[shape.length - 1] as number;
    const batch = shape[0] as number;
    for (const kind of ['plain', 'conditional'] as const) {
      it(`${kind}, x [${shape}]: the taped formulation's output and gradients`, function () {
        const live = liveTensors();
        const p = params(channels, 3);
        const x = tf.tidy(() => tf.variable(fixedTensor(shape, 31, 2), true));
        const cond = fixedTensor([batch, 3], 32, 1) as tf.Tensor2D;
        // A loss that weights every output differently, so each gradient element is tested.
        const weights = fixedTensor(shape, 33, 1);
        const perSample = shape.map((d, i) => (i === 0 || i === shape.length - 1 ? d : 1));
        const ref = (): tf.Tensor => {
          const n = tapedNorm(x);
          if (kind === 'plain') {
            return tf.add(tf.mul(n, p.get('bn.gamma')!), p.get('bn.beta')!);
          }
          const dense = (w: string, b: string) =>
            tf.add(tf.matMul(cond, p.get(w)! as tf.Tensor2D), p.get(b)!);
          const gamma = tf.reshape(tf.add(1, dense('bn.gain.w', 'bn.gain.b')), perSample);
          const beta = tf.reshape(dense('bn.shift.w', 'bn.shift.b'), perSample);
          return tf.add(tf.mul(n, gamma), beta);
        };
        const mode: BnMode = { kind: 'batch' };
        const ours = (): tf.Tensor =>
          kind === 'plain'
            ? batchNorm(p, 'bn', x, mode)
            : conditionalBatchNorm(p, 'bn', x as tf.Tensor as tf.Tensor4D, cond, mode);
        const loss = (f: () => tf.Tensor) => () => tf.sum(tf.mul(f(), weights)) as tf.Scalar;
        const vars = [x, ...p.values()];
        const a = tf.variableGrads(loss(ours), vars);
        const b = tf.variableGrads(loss(ref), vars);
        close(a.value, b.value, 1e-5, 'loss');
        const used =
          kind === 'plain'
            ? ['bn.gamma', 'bn.beta']
            : ['bn.gain.w', 'bn.gain.b', 'bn.shift.w', 'bn.shift.b'];
        for (const v of [x, ...used.map((n) => p.get(n)!)]) {
          close(a.grads[v.name]!, b.grads[v.name]!, 2e-5, `d ${v.name}`);
        }
        tf.dispose([a.value, b.value, ...Object.values(a.grads), ...Object.values(b.grads)]);
        tf.dispose([x, cond, weights, ...p.values()]);
        assert.equal(liveTensors(), live, 'no leaked tensors');
      });
    }
  }

  it("records the batch's statistics in 'collect' mode and normalises by them in 'fixed' mode", function () {
    const live = liveTensors();
    const p = params(16, 3);
    const x = fixedTensor([6, 5, 3, 16], 41, 2);
    const cond = fixedTensor([6, 3], 42, 1) as tf.Tensor2D;
    const out = new Map<string, BnStats[]>();
    const collected = tf.tidy(() =>
      conditionalBatchNorm(p, 'bn', x as tf.Tensor4D, cond, { kind: 'collect', out }),
    );
    const stats = averageStats(out);
    const fixed = tf.tidy(() =>
      conditionalBatchNorm(p, 'bn', x as tf.Tensor4D, cond, { kind: 'fixed', stats }),
    );
    // One batch collected: its standing statistics are its own, so both modes agree.
    close(fixed, collected, 1e-5, 'fixed vs collect');
    const moments = tf.moments(x, [0, 1, 2]);
    close(stats.get('bn')!.mean, moments.mean, 1e-6, 'mean');
    close(stats.get('bn')!.variance, moments.variance, 1e-6, 'variance');
    tf.dispose([x, cond, collected, fixed, moments.mean, moments.variance, ...p.values()]);
    for (const s of stats.values()) tf.dispose([s.mean, s.variance]);
    assert.equal(liveTensors(), live, 'no leaked tensors');
  });
});

// On wasm, batch norm with batch statistics and its affine step is one kernel each way
// (wasmBatchNormKernels.ts) that rounds every value as the composite ops do: the same bits.
describe('batch norm on its wasm kernels', function () {
  before(async () => {
    await initBackend('wasm');
  });
  after(() => registerWasmBatchNormKernels());

  /** Output, collected statistics and every gradient, as flat arrays. */
  function run(kind: 'plain' | 'conditional', shape: number[], fused: boolean): number[][] {
    if (fused) registerWasmBatchNormKernels();
    else unregisterWasmBatchNormKernels();
    const channels = shape[shape.length - 1] as number;
    const p = params(channels, 3);
    const x = tf.tidy(() => tf.variable(fixedTensor(shape, 51, 2), true));
    const cond = fixedTensor([shape[0] as number, 3], 52, 1) as tf.Tensor2D;
    const weights = fixedTensor(shape, 53, 1);
    const out = new Map<string, BnStats[]>();
    const mode: BnMode = { kind: 'collect', out };
    const y = (): tf.Tensor =>
      kind === 'plain'
        ? batchNorm(p, 'bn', x, mode)
        : conditionalBatchNorm(p, 'bn', x as tf.Tensor as tf.Tensor4D, cond, mode);
    const used =
      kind === 'plain'
        ? ['bn.gamma', 'bn.beta']
        : ['bn.gain.w', 'bn.gain.b', 'bn.shift.w', 'bn.shift.b'];
    const vars = [x, ...used.map((n) => p.get(n)!)];
    const r = tf.variableGrads(() => tf.sum(tf.mul(y(), weights)) as tf.Scalar, vars);
    const values = [r.value, ...vars.map((v) => r.grads[v.name]!)].map((t) =>
      Array.from(t.dataSync()),
    );
    const stats = out.get('bn')!;
    for (const s of stats)
      values.push(Array.from(s.mean.dataSync()), Array.from(s.variance.dataSync()));
    tf.dispose([r.value, ...Object.values(r.grads), x, cond, weights, ...p.values()]);
    for (const s of stats) tf.dispose([s.mean, s.variance]);
    return values;
  }

  for (const shape of [
    [32, 1024],
    [32, 8, 8, 32],
    [32, 16, 16, 16],
    [7, 5, 3, 3],
    [2, 700, 3],
    [5, 6, 6, 5],
    [3, 9],
  ]) {
    for (const kind of ['plain', 'conditional'] as const) {
      it(`${kind}, x [${shape}]: the composite ops' bits, one thread or split, no leaks`, function () {
        const composite = run(kind, shape, false);
        const live = liveTensors();
        const single = threaded(Infinity, () => run(kind, shape, true));
        const split = threaded(0, () => run(kind, shape, true));
        assert.equal(liveTensors(), live, 'no leaked tensors');
        const what = [
          'loss',
          'dx',
          ...(kind === 'plain'
            ? ['dgamma', 'dbeta']
            : ['dgain.w', 'dgain.b', 'dshift.w', 'dshift.b']),
          'mean',
          'variance',
        ];
        for (const [name, fused] of [
          ['one thread', single],
          ['split', split],
        ] as const) {
          assert.equal(fused.length, composite.length);
          fused.forEach((got, i) => {
            const want = composite[i] as number[];
            const at = got.findIndex((v, j) => v !== want[j]);
            assert.equal(
              at,
              -1,
              `${name}, ${what[i]}: element ${at} is ${got[at]}, composite ${want[at]}`,
            );
          });
        }
      });
    }
  }

  it('runs one kernel forward and one backward', async function () {
    const p = params(16, 3);
    const x = tf.tidy(() => tf.variable(fixedTensor([8, 4, 4, 16], 61, 2), true));
    const cond = fixedTensor([8, 3], 62, 1) as tf.Tensor2D;
    const { fused, composite } = await kernelsWithAndWithout(
      { register: registerWasmBatchNormKernels, unregister: unregisterWasmBatchNormKernels },
      () => {
        const r = tf.variableGrads(
          () =>
            tf.sum(
              conditionalBatchNorm(p, 'bn', x as tf.Tensor4D, cond, { kind: 'batch' }),
            ) as tf.Scalar,
          [x, ...p.values()],
        );
        tf.dispose([r.value, ...Object.values(r.grads)]);
      },
    );
    assert.ok(fused.includes(BATCH_NORM) && fused.includes(BATCH_NORM_GRAD), `${fused}`);
    assert.ok(!composite.includes(BATCH_NORM), `${composite}`);
    assert.ok(
      composite.length - fused.length >= 20,
      `${composite.length} → ${fused.length} kernels`,
    );
    tf.dispose([x, cond, ...p.values()]);
  });
});
