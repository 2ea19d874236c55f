import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend/backendChain';
import type { ModelConfig } from '../../src/core/config/types';
import { createModel } from '../../src/core/models/createModel';
import type { GanModel } from '../../src/core/models/ganModel';
import { disposeVariables } from '../../src/core/models/paramStore';
import { Rng } from '../../src/core/random/rng';
import { fixedTensor } from '../support/fixedTensor';
import { tinyConfig } from './support/tinyConfig';

// The D update judges the real and the fake batch in one call where the model says the logits
// are those of two calls (GanModel.judgesTogether). Checked here: that they are, for the models
// that say so, and that the rule is needed — a whole-batch minibatch std would mix the halves.

const IMAGE = { resolution: 16, channels: 3 } as const;

function model(overrides: Partial<ModelConfig>): GanModel {
  const cfg = { ...tinyConfig('/tmp/unused').model, type: 'cgan' as const, ...overrides };
  return createModel(cfg, IMAGE, 4, new Rng(5));
}

/** D's logits with every power-iteration vector as it was before the call. */
function logitsFrom(m: GanModel, x: tf.Tensor4D, labels: tf.Tensor1D): Float32Array {
  const saved = [...m.discriminatorParams]
    .filter(([, v]) => !v.trainable)
    .map(([, v]) => [v, v.clone()] as const);
  const out = tf.tidy(() => m.discriminate(m.discriminatorParams, x, { labels }));
  for (const [v, copy] of saved) {
    v.assign(copy);
    copy.dispose();
  }
  const values = out.dataSync() as Float32Array;
  out.dispose();
  return values;
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] as number))), 0);
}

describe('D judges real and fake together where the logits are unchanged', function () {
  this.timeout(60_000);
  before(async () => {
    await initBackend('wasm');
  });

  it('says so only for spectral norm, no packs, and minibatch-std groups inside one half', function () {
    const cases: [Partial<ModelConfig>, number, boolean][] = [
      [{ dNorm: 'spectral', dMinibatchStd: true, groupSize: 4 }, 8, true],
      [{ dNorm: 'spectral', dMinibatchStd: true, groupSize: 4 }, 6, false],
      [{ dNorm: 'spectral', dMinibatchStd: true, groupSize: 0 }, 8, false],
      [{ dNorm: 'spectral', dMinibatchStd: false }, 6, true],
      [{ dNorm: 'spectral', dMinibatchStd: false, pack: 2 }, 8, false],
      [{ dNorm: 'batch', dMinibatchStd: false }, 8, false],
    ];
    for (const [overrides, batch, expected] of cases) {
      const m = model(overrides);
      assert.equal(m.judgesTogether?.(batch), expected, JSON.stringify({ ...overrides, batch }));
      disposeVariables(m.generatorParams);
      disposeVariables(m.discriminatorParams);
    }
  });

  for (const [name, overrides, together] of [
    ['grouped minibatch std', { dNorm: 'spectral', dMinibatchStd: true, groupSize: 4 }, true],
    ['whole-batch minibatch std', { dNorm: 'spectral', dMinibatchStd: true, groupSize: 0 }, false],
  ] as const) {
    it(`${name}: the joint logits ${together ? 'equal' : 'differ from'} two calls`, function () {
      const m = model(overrides);
      const real = fixedTensor([8, 16, 16, 3], 1, 1) as tf.Tensor4D;
      const fake = fixedTensor([8, 16, 16, 3], 2, 0.3) as tf.Tensor4D;
      const labels = tf.tensor1d([0, 0, 0, 0, 1, 1, 1, 1], 'int32');
      const both = tf.concat([real, fake]);
      const bothLabels = tf.concat([labels, labels]);
      const joint = logitsFrom(m, both, bothLabels);
      const separate = Float32Array.from([
        ...logitsFrom(m, real, labels),
        ...logitsFrom(m, fake, labels),
      ]);
      const diff = maxDiff(joint, separate);
      if (together) assert.ok(diff < 1e-5, `max |diff| ${diff}`);
      else assert.ok(diff > 1e-3, `max |diff| ${diff}: the halves should mix`);
      tf.dispose([real, fake, labels, both, bothLabels]);
      disposeVariables(m.generatorParams);
      disposeVariables(m.discriminatorParams);
    });
  }
});
