import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend/backendChain';
import { Adam } from '../../src/core/train/adam';
import { lrScaleAt } from '../../src/core/train/lrSchedule';

describe('step-size schedule (training.lrDecay)', function () {
  before(async function () {
    await initBackend('cpu');
  });

  it('is constant, then falls linearly to 0 over the last fraction of the run', function () {
    assert.equal(lrScaleAt(0, 1000, 0), 1);
    assert.equal(lrScaleAt(999, 1000, 0), 1);
    assert.equal(lrScaleAt(499, 1000, 0.5), 1);
    assert.equal(lrScaleAt(500, 1000, 0.5), 1);
    assert.equal(lrScaleAt(750, 1000, 0.5), 0.5);
    assert.equal(lrScaleAt(999, 1000, 0.5), 1 / 500);
    assert.equal(lrScaleAt(1000, 1000, 0.5), 0);
    // Steps past the configured end (a resumed run given more steps) do not go negative.
    assert.equal(lrScaleAt(1200, 1000, 0.5), 0);
    assert.equal(lrScaleAt(0, 1000, 1), 1);
    assert.equal(lrScaleAt(250, 1000, 1), 0.75);
  });

  it('scales the Adam update and leaves the moments alone', function () {
    const before = tf.memory().numTensors;
    const moved: number[] = [];
    const moments: number[][] = [];
    for (const scale of [1, 0.25, 0]) {
      const p = tf.tidy(() => tf.variable(tf.tensor1d([1, -2, 3])));
      const opt = new Adam(new Map([['w', p]]), { learningRate: 0.1, beta1: 0.5, beta2: 0.9 });
      const g = tf.tensor1d([0.3, -0.1, 2]);
      opt.apply(new Map([['w', g]]), scale);
      moved.push(Math.abs((p.dataSync()[0] as number) - 1));
      moments.push([...(opt.getState().m.get('w') as tf.Tensor).dataSync()]);
      g.dispose();
      opt.dispose();
      p.dispose();
    }
    // Adam's first update moves each weight by the step size (|m̂ / √v̂| = 1).
    assert.ok(Math.abs((moved[0] as number) - 0.1) < 1e-6, `moved ${moved[0]}`);
    assert.ok(Math.abs((moved[1] as number) - 0.025) < 1e-6, `moved ${moved[1]}`);
    assert.equal(moved[2], 0);
    assert.deepEqual(moments[1], moments[0]);
    assert.deepEqual(moments[2], moments[0]);
    assert.equal(tf.memory().numTensors, before);
  });
});
