import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend/backendChain';
import { Rng } from '../../src/core/random/rng';
import { diffAugment } from '../../src/core/train/diffAugment';

const OFF = { translation: 0, cutout: 0, colour: false };

describe('differentiable augmentation', function () {
  this.timeout(60_000);
  before(async () => {
    await initBackend('wasm');
  });

  it('shifts each image by at most the translation and lets zeros in', () => {
    // One bright pixel in the middle of each 16×16 image.
    const b = 64;
    const x = new Float32Array(b * 16 * 16);
    for (let i = 0; i < b; i++) x[i * 256 + 8 * 16 + 8] = 1;
    const y = tf.tidy(() =>
      diffAugment(
        tf.tensor4d(x, [b, 16, 16, 1]),
        { ...OFF, translation: 0.125 },
        new Rng(1),
      ).dataSync(),
    );
    const shifts = new Set<string>();
    for (let i = 0; i < b; i++) {
      const at = y.subarray(i * 256, (i + 1) * 256).indexOf(1);
      assert.ok(at >= 0, `image ${i} lost its pixel`);
      const dy = Math.floor(at / 16) - 8;
      const dx = (at % 16) - 8;
      assert.ok(Math.abs(dy) <= 2 && Math.abs(dx) <= 2, `shift ${dy},${dx}`);
      shifts.add(`${dy},${dx}`);
    }
    assert.ok(shifts.size > 10, `only ${shifts.size} distinct shifts`);
  });

  it('cuts out a square of the given side, and is a function of the random stream', () => {
    const x = tf.ones([8, 16, 16, 3]) as tf.Tensor4D;
    const cut = (seed: number) =>
      tf.tidy(() => diffAugment(x, { ...OFF, cutout: 0.5 }, new Rng(seed)).dataSync());
    const a = cut(4);
    assert.deepStrictEqual(cut(4), a);
    assert.notDeepStrictEqual(cut(5), a);
    for (let i = 0; i < 8; i++) {
      const zeros = a.subarray(i * 768, (i + 1) * 768).filter((v) => v === 0).length / 3;
      // An 8×8 square, clipped at the border: between a quarter of it and all of it.
      assert.ok(zeros >= 16 && zeros <= 64, `image ${i}: ${zeros} pixels cut`);
    }
    x.dispose();
  });

  it('passes gradients to the images and leaks no tensor', () => {
    const before = tf.memory().numTensors;
    const x = tf.randomNormal([4, 8, 8, 3]) as tf.Tensor4D;
    const all = { translation: 0.125, cutout: 0.25, colour: true };
    const g = tf.grad((v) => tf.sum(diffAugment(v as tf.Tensor4D, all, new Rng(2))))(x);
    const nonZero = tf.tidy(() => tf.sum(tf.cast(tf.notEqual(g, 0), 'float32')).dataSync()[0]!);
    assert.ok(nonZero > 0.5 * x.size, `${nonZero} of ${x.size} pixels get a gradient`);
    tf.dispose([x, g]);
    assert.strictEqual(tf.memory().numTensors, before);
  });
});
