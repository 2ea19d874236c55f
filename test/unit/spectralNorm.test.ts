import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend/backendChain';
import {
  registerWasmSpectralNormKernels,
  unregisterWasmSpectralNormKernels,
} from '../../src/core/backend/wasmSpectralNormKernels';
import {
  SPECTRAL_NORM,
  SPECTRAL_NORM_GRAD,
  spectralNormalised,
} from '../../src/core/models/spectralNorm';
import { fixedTensor, liveTensors } from '../support/fixedTensor';
import { kernelsWithAndWithout } from '../support/kernelChecks';

// spectralNormalised runs its power iteration off the tape and writes its gradient out. The
// reference here is the plain autodiff formulation — the iteration taped, v and u behind a
// stop-gradient — which must give the same output, the same refined u and the same gradient.

const stopGradient = tf.customGrad((...args) => ({
  value: tf.clone(args[0] as tf.Tensor),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
}));

function normalise(x: tf.Tensor2D): tf.Tensor2D {
  return tf.div(x, tf.add(tf.norm(x), 1e-12));
}

function taped(w: tf.Tensor, u: tf.Variable): tf.Tensor {
  const fanOut = w.shape[w.rank - 1] as number;
  const mat = tf.reshape(w, [-1, fanOut]) as tf.Tensor2D;
  const v = stopGradient(normalise(tf.matMul(mat, tf.reshape(u, [fanOut, 1])))) as tf.Tensor2D;
  const u1 = stopGradient(normalise(tf.matMul(mat, v, true, false))) as tf.Tensor2D;
  const sigma = tf.sum(tf.mul(tf.matMul(mat, u1), v));
  u.assign(tf.reshape(u1, [fanOut]));
  return tf.div(w, sigma);
}

function close(a: tf.Tensor, b: tf.Tensor, tol: number, what: string): void {
  assert.deepEqual(a.shape, b.shape, `${what}: shape`);
  const [x, y] = [a.dataSync(), b.dataSync()];
  let scale = 0;
  for (const v of y) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < x.length; i++) {
    const d = Math.abs((x[i] as number) - (y[i] as number));
    assert.ok(d <= tol * scale, `${what}: element ${i} is ${x[i]}, expected ${y[i]}`);
  }
}

describe('spectral normalisation (power iteration off the tape, gradient written out)', function () {
  before(async () => {
    await initBackend('wasm');
    // Warm-up: a first gradient may leave backend state (kernel caches) the leak check must not count.
    const w = tf.variable(tf.ones([3, 2]), true, 'warm-w');
    const u = tf.variable(tf.ones([2]), false, 'warm-u');
    const p = new Map<string, tf.Tensor>([
      ['w', w],
      ['u', u],
    ]);
    const r = tf.variableGrads(() => tf.sum(spectralNormalised(p, 'w', 'u')) as tf.Scalar, [w]);
    tf.dispose([r.value, ...Object.values(r.grads), w, u]);
  });

  for (const shape of [
    [4, 4, 3, 16],
    [4, 4, 16, 32],
    [64, 1],
    [10, 7],
  ]) {
    it(`matches the taped autodiff formulation for W [${shape}]`, function () {
      const live = liveTensors();
      const fanOut = shape[shape.length - 1] as number;
      const w0 = fixedTensor(shape, 11, 1);
      const w = tf.variable(w0, true, `w${shape.join('x')}`);
      const u0 = fixedTensor([fanOut], 12, 0.5);
      const uOurs = tf.variable(u0, false, `uo${shape.join('x')}`);
      const uRef = tf.variable(u0, false, `ur${shape.join('x')}`);
      // A loss that weights every output differently, so each gradient element is tested.
      const weights = fixedTensor(shape, 13, 1);
      const loss = (f: () => tf.Tensor) => () => tf.sum(tf.mul(f(), weights)) as tf.Scalar;
      const p = new Map<string, tf.Tensor>([
        ['w', w],
        ['u', uOurs],
      ]);
      // Two calls each: the second starts from the u the first refined.
      for (let call = 0; call < 2; call++) {
        const ours = tf.variableGrads(
          loss(() => spectralNormalised(p, 'w', 'u')),
          [w],
        );
        const ref = tf.variableGrads(
          loss(() => taped(w, uRef)),
          [w],
        );
        close(ours.value, ref.value, 1e-5, `loss, call ${call}`);
        close(
          ours.grads[w.name] as tf.Tensor,
          ref.grads[w.name] as tf.Tensor,
          1e-5,
          `dW, call ${call}`,
        );
        close(uOurs, uRef, 1e-5, `refined u, call ${call}`);
        tf.dispose([
          ours.value,
          ref.value,
          ...Object.values(ours.grads),
          ...Object.values(ref.grads),
        ]);
      }
      const y = tf.tidy(() => spectralNormalised(p, 'w', 'u'));
      // σ(W/σ(W)) ≈ 1: the normalised weight's largest singular value, by power iteration.
      const sigma = tf.tidy(() => {
        const mat = tf.reshape(y, [-1, fanOut]) as tf.Tensor2D;
        let v = tf.ones([fanOut, 1]) as tf.Tensor2D;
        for (let i = 0; i < 200; i++) v = normalise(tf.matMul(mat, tf.matMul(mat, v), true));
        return tf.norm(tf.matMul(mat, v)).dataSync()[0] as number;
      });
      assert.ok(Math.abs(sigma - 1) < 0.05, `σ of the normalised weight is ${sigma}`);
      y.dispose();
      tf.dispose([w, w0, uOurs, uRef, u0, weights]);
      assert.equal(liveTensors(), live, 'no leaked tensors');
    });
  }
});

// On wasm each direction is one native kernel (wasmSpectralNormKernels.ts) that takes its products
// and sums in the composite ops' order: the same bits as those ops, one call instead of ~20.
describe('spectral normalisation on its wasm kernels', function () {
  before(async () => {
    await initBackend('wasm');
  });
  after(() => registerWasmSpectralNormKernels());

  /** The loss, dW and the refined u of two calls from one starting u. */
  function run(shape: number[], fused: boolean): number[][] {
    if (fused) registerWasmSpectralNormKernels();
    else unregisterWasmSpectralNormKernels();
    const fanOut = shape[shape.length - 1] as number;
    const w0 = fixedTensor(shape, 21, 1);
    const u0 = fixedTensor([fanOut], 22, 0.5);
    const w = tf.variable(w0, true);
    const u = tf.variable(u0, false);
    const weights = fixedTensor(shape, 23, 1);
    const p = new Map<string, tf.Tensor>([
      ['w', w],
      ['u', u],
    ]);
    const values: number[][] = [];
    for (let call = 0; call < 2; call++) {
      const r = tf.variableGrads(
        () => tf.sum(tf.mul(spectralNormalised(p, 'w', 'u'), weights)) as tf.Scalar,
        [w],
      );
      values.push(
        Array.from(r.value.dataSync()),
        Array.from((r.grads[w.name] as tf.Tensor).dataSync()),
        Array.from(u.dataSync()),
      );
      tf.dispose([r.value, ...Object.values(r.grads)]);
    }
    tf.dispose([w, u, w0, u0, weights]);
    return values;
  }

  for (const shape of [
    [4, 4, 3, 16],
    [4, 4, 32, 64],
    [1040, 1],
    [3000, 5],
    [4, 1040],
    [7, 3],
    [2, 2],
  ]) {
    it(`equals the composite ops bit for bit for W [${shape}], without leaks`, function () {
      const composite = run(shape, false);
      const live = liveTensors();
      const fused = run(shape, true);
      assert.equal(liveTensors(), live, 'no leaked tensors');
      const what = ['loss', 'dW', 'refined u'];
      fused.forEach((got, i) => {
        const want = composite[i] as number[];
        assert.equal(got.length, want.length);
        const at = got.findIndex((x, j) => x !== want[j]);
        assert.equal(
          at,
          -1,
          `${what[i % 3]} of call ${(i / 3) | 0}: element ${at} is ${got[at]}, composite ${want[at]}`,
        );
      });
    });
  }

  it('runs one kernel forward and one backward per weight', async function () {
    const w0 = fixedTensor([4, 4, 16, 32], 31, 1);
    const u0 = fixedTensor([32], 32, 0.5);
    const w = tf.variable(w0, true);
    const u = tf.variable(u0, false);
    const p = new Map<string, tf.Tensor>([
      ['w', w],
      ['u', u],
    ]);
    const { fused, composite } = await kernelsWithAndWithout(
      { register: registerWasmSpectralNormKernels, unregister: unregisterWasmSpectralNormKernels },
      () => {
        const r = tf.variableGrads(() => tf.sum(spectralNormalised(p, 'w', 'u')) as tf.Scalar, [w]);
        tf.dispose([r.value, ...Object.values(r.grads)]);
      },
    );
    assert.ok(fused.includes(SPECTRAL_NORM) && fused.includes(SPECTRAL_NORM_GRAD), `${fused}`);
    assert.ok(!composite.includes(SPECTRAL_NORM), `${composite}`);
    assert.ok(
      composite.length - fused.length >= 25,
      `${composite.length} → ${fused.length} kernels`,
    );
    tf.dispose([w, u, w0, u0]);
  });
});
