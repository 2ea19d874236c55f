import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend/backendChain';
import { createShapesDataset } from '../../src/core/data/shapesDataset';
import { pixelSpread } from '../../src/core/metrics/sampleSpread';
import { createModel } from '../../src/core/models/createModel';
import { disposeVariables } from '../../src/core/models/paramStore';
import { Rng } from '../../src/core/random/rng';
import { computeStandingStats, disposeStats } from '../../src/core/sampling/standingStats';
import { DiversityMonitor } from '../../src/core/train/diversityMonitor';
import { tinyConfig } from './support/tinyConfig';

describe('diversity monitor', function () {
  this.timeout(120_000);
  before(async () => {
    await initBackend('wasm');
  });

  it('measures spread in grey levels with the sample variance', () => {
    // Two images, one black and one white: every pixel has sample std √2 (in [-1, 1] units).
    const images = Float32Array.from([-1, -1, 1, 1]);
    assert.ok(Math.abs(pixelSpread(images, 2) - Math.SQRT2 * 127.5) < 1e-6);
    assert.strictEqual(pixelSpread(Float32Array.from([0.3, 0.3, 0.3, 0.3]), 2), 0);
  });

  it('warns once when a class stops varying with z, and not before', async () => {
    const config = tinyConfig('/tmp/unused');
    const data = createShapesDataset({ source: 'shapes', count: 256, resolution: 16, seed: 1 });
    const before = tf.memory().numTensors;
    const model = createModel(config.model, { resolution: 16, channels: 3 }, 4, new Rng(3));
    const g = model.generatorParams;
    // A generator whose output saturates and follows z: as varied as (or more than) the data.
    const out = g.get('out.w')!;
    tf.tidy(() => out.assign(tf.mul(out, 200)));
    const monitor = DiversityMonitor.create(model, data, null, 1);
    const read = async (step: number) => {
      const stats = computeStandingStats(model, g, 5);
      try {
        return await monitor.read(step, g, stats);
      } finally {
        disposeStats(stats);
      }
    };
    try {
      const diverse = await read(100);
      assert.deepStrictEqual(
        diverse.groups.map((x) => x.name),
        ['circle', 'square', 'triangle', 'cross'],
      );
      assert.ok(diverse.median > 0.5, `median ratio ${diverse.median}`);
      assert.deepStrictEqual(monitor.assess(diverse), []);
      // z no longer reaches the image: every sample of a class is the same.
      const fc = g.get('fc.w')!;
      tf.tidy(() => fc.assign(tf.zerosLike(fc)));
      const collapsed = await read(200);
      assert.ok(collapsed.median < 0.01, `median ratio ${collapsed.median}`);
      const warnings = monitor.assess(collapsed);
      assert.strictEqual(warnings.length, 4);
      assert.match(warnings[0]!, /mode collapse at step 200: samples of circle vary 0 %/);
      // Reported once while it lasts.
      assert.deepStrictEqual(monitor.assess(await read(300)), []);
    } finally {
      disposeVariables(model.generatorParams);
      disposeVariables(model.discriminatorParams);
    }
    assert.strictEqual(tf.memory().numTensors, before);
  });
});
