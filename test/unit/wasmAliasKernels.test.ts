import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { onWasmBackend } from '../support/kernelChecks';
import {
  registerWasmAliasKernels,
  unregisterWasmAliasKernels,
} from '../../src/core/backend/wasmAliasKernels';

// Identity and same-dtype Cast share their input's buffer on wasm (wasmAliasKernels.ts): no new
// buffer, the same values, a copy that outlives the original, and conversions still converted.

function buffers(): number {
  return tf.engine().backend.numDataIds();
}

describe('wasm Identity and Cast as aliases', function () {
  onWasmBackend(
    () => registerWasmAliasKernels(),
    () => registerWasmAliasKernels(),
  );

  it('clone and float32 → float32 cast add no buffer; the stock kernels add one each', function () {
    const x = tf.tensor2d([1.5, -2, 3.25, 4], [2, 2]);
    const before = buffers();
    const c = tf.clone(x);
    const same = tf.cast(x, 'float32');
    assert.equal(buffers(), before);
    unregisterWasmAliasKernels();
    try {
      const copy = tf.clone(x);
      assert.equal(buffers(), before + 1);
      copy.dispose();
    } finally {
      registerWasmAliasKernels();
    }
    assert.deepEqual(Array.from(c.dataSync()), [1.5, -2, 3.25, 4]);
    assert.deepEqual(same.shape, [2, 2]);
    x.dispose();
    // The shared buffer lives while any tensor holds it.
    assert.deepEqual(Array.from(c.dataSync()), [1.5, -2, 3.25, 4]);
    assert.deepEqual(Array.from(same.dataSync()), [1.5, -2, 3.25, 4]);
    tf.dispose([c, same]);
    assert.equal(buffers(), before - 1);
  });

  it('a cast to another dtype still converts', function () {
    const x = tf.tensor1d([1.7, -2.2, 0]);
    const i = tf.cast(x, 'int32');
    assert.equal(i.dtype, 'int32');
    assert.deepEqual(Array.from(i.dataSync()), [1, -2, 0]);
    tf.dispose([x, i]);
  });

  it('gradients through saved tensors are unchanged, and nothing leaks', function () {
    const x = tf.variable(tf.tensor1d([0.5, -1, 2]));
    const run = () =>
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(tf.square(x), tf.clone(x))));
        return [value, grads[x.name] as tf.Tensor];
      });
    const before = tf.memory().numTensors;
    const [value, grad] = run();
    // d/dx Σ x³ = 3x²
    assert.ok(Math.abs((value!.dataSync()[0] as number) - (0.125 - 1 + 8)) < 1e-6);
    assert.deepEqual(Array.from(grad!.dataSync()), [0.75, 3, 12]);
    tf.dispose([value!, grad!]);
    assert.equal(tf.memory().numTensors, before);
    x.dispose();
  });
});
