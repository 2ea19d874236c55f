import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend/backendChain';
import {
  registerWasmMinibatchStdKernels,
  unregisterWasmMinibatchStdKernels,
} from '../../src/core/backend/wasmMinibatchStdKernels';
import {
  appendMinibatchStd,
  MINIBATCH_STD,
  MINIBATCH_STD_GRAD,
} from '../../src/core/models/minibatchStd';
import { fixedTensor, liveTensors } from '../support/fixedTensor';
import { kernelsWithAndWithout, threaded } from '../support/kernelChecks';

// On wasm, D's minibatch std is one kernel each way (wasmMinibatchStdKernels.ts) that rounds every
// value as the composite ops — moments over the group axis, a root, a mean, tile, concat, and
// their taped gradients — do: the same bits, forward and backward.
describe('minibatch std on its wasm kernels', function () {
  before(async () => {
    await initBackend('wasm');
  });
  after(() => registerWasmMinibatchStdKernels());

  /** The output and ∂x of a loss weighting every output element differently, as flat arrays. */
  function run(shape: number[], group: number, fused: boolean, low = 0.5): number[][] {
    if (fused) registerWasmMinibatchStdKernels();
    else unregisterWasmMinibatchStdKernels();
    const x = tf.tidy(() => tf.variable(fixedTensor(shape, 71, low), true));
    const [b, h, w, c] = shape as [number, number, number, number];
    const weights = fixedTensor([b, h, w, c + 1], 72, 1);
    let out: number[] = [];
    const r = tf.variableGrads(() => {
      const y = appendMinibatchStd(x as tf.Variable as unknown as tf.Tensor4D, group);
      out = Array.from(y.dataSync());
      return tf.sum(tf.mul(y, weights)) as tf.Scalar;
    }, [x]);
    const values = [out, Array.from(r.value.dataSync()), Array.from(r.grads[x.name]!.dataSync())];
    tf.dispose([r.value, ...Object.values(r.grads), x, weights]);
    return values;
  }

  for (const [shape, group, low] of [
    [[32, 4, 4, 64], 4, 0.5], // the demo's D, one half of a joint real + fake call
    [[64, 4, 4, 64], 4, 0.5],
    [[12, 3, 5, 7], 3, 0.5], // a group that is not a power of two, odd channels
    [[9, 2, 2, 5], 0, 1], // the whole batch as one group
    [[10, 4, 4, 9], 4, 0.5], // 4 does not divide 10: the whole batch
    [[8, 1, 1, 3], 2, 0.5],
    [[6, 4, 4, 2], 6, 1e-3], // values near zero: the sign of small differences
  ] as [number[], number, number][]) {
    it(`x [${shape}], group ${group}: the composite ops' bits, one thread or split, no leaks`, function () {
      const composite = run(shape, group, false, low);
      const live = liveTensors();
      const single = threaded(Infinity, () => run(shape, group, true, low));
      const split = threaded(0, () => run(shape, group, true, low));
      assert.equal(liveTensors(), live, 'no leaked tensors');
      for (const [name, fused] of [
        ['one thread', single],
        ['split', split],
      ] as const) {
        ['output', 'loss', 'dx'].forEach((what, i) => {
          const want = composite[i] as number[];
          const got = fused[i] as number[];
          assert.equal(got.length, want.length, `${name}, ${what}: length`);
          const at = got.findIndex((v, j) => !Object.is(v, want[j]));
          assert.equal(
            at,
            -1,
            `${name}, ${what}: element ${at} is ${got[at]}, composite ${want[at]}`,
          );
        });
      }
    });
  }

  it('the std channel is the mean over positions of the group std (float64 reference)', function () {
    const shape = [8, 2, 3, 4];
    const x = fixedTensor(shape, 73, 0.5);
    const y = appendMinibatchStd(x as tf.Tensor4D, 4);
    const xs = x.dataSync();
    const ys = y.dataSync();
    const P = 2 * 3 * 4;
    for (let n = 0; n < 2; n++) {
      let roots = 0;
      for (let p = 0; p < P; p++) {
        let m = 0;
        for (let j = 0; j < 4; j++) m += xs[(n * 4 + j) * P + p] as number;
        m /= 4;
        let v = 0;
        for (let j = 0; j < 4; j++) v += ((xs[(n * 4 + j) * P + p] as number) - m) ** 2;
        roots += Math.sqrt(v / 4 + 1e-8);
      }
      for (let j = 0; j < 4; j++) {
        const appended = ys[((n * 4 + j) * 6 + 5) * 5 + 4] as number;
        assert.ok(Math.abs(appended - roots / P) < 1e-6, `group ${n}: ${appended} vs ${roots / P}`);
        assert.equal(ys[(n * 4 + j) * 6 * 5], xs[(n * 4 + j) * P], 'x is copied through');
      }
    }
    tf.dispose([x, y]);
  });

  it('runs one kernel forward and one backward', async function () {
    const x = tf.tidy(() => tf.variable(fixedTensor([16, 4, 4, 8], 74, 0.5), true));
    const { fused, composite } = await kernelsWithAndWithout(
      { register: registerWasmMinibatchStdKernels, unregister: unregisterWasmMinibatchStdKernels },
      () => {
        const r = tf.variableGrads(
          () =>
            tf.sum(appendMinibatchStd(x as tf.Variable as unknown as tf.Tensor4D, 4)) as tf.Scalar,
          [x],
        );
        tf.dispose([r.value, ...Object.values(r.grads)]);
      },
    );
    assert.ok(fused.includes(MINIBATCH_STD) && fused.includes(MINIBATCH_STD_GRAD), `${fused}`);
    assert.ok(!composite.includes(MINIBATCH_STD), `${composite}`);
    assert.ok(
      composite.length - fused.length >= 20,
      `${composite.length} → ${fused.length} kernels`,
    );
    x.dispose();
  });
});
