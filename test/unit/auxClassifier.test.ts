import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend/backendChain';
import { createShapesDataset } from '../../src/core/data/shapesDataset';
import { TrainingSession } from '../../src/core/train/trainingSession';
import { makeTempDir } from './support/tempDir';
import { tinyConfig } from './support/tinyConfig';

describe('AC-GAN class head (model.auxClassifier)', function () {
  let dir: string;
  let cleanup: () => void;
  before(async () => {
    await initBackend('wasm');
  });
  beforeEach(() => ({ dir, cleanup } = makeTempDir('aux')));
  afterEach(() => cleanup());

  const model = { type: 'cgan', zDim: 16, gWidth: 8, dWidth: 8, embedDim: 8 };

  it('is built only for models that take a class label', () => {
    const data = createShapesDataset({ source: 'shapes', count: 64, resolution: 16, seed: 1 });
    const has = (m: Record<string, unknown>): boolean => {
      const session = new TrainingSession(tinyConfig(dir, { model: m }), data);
      const found = session.model.discriminatorParams.has('aux.w');
      session.dispose();
      return found;
    };
    assert.equal(has({ ...model, auxClassifier: 1 }), true);
    assert.equal(has({ ...model, auxClassifier: 0 }), false);
    assert.equal(has({ ...model, type: 'dcgan', auxClassifier: 1 }), false);
  });

  it('adds the weighted class loss to D (on real images) and to G (on fakes), leaking nothing', async () => {
    // Same seed with and without the head: the other weights and the batches are the same (the
    // head's weights are drawn last), and an untrained head's loss is about ln 4 per unit of
    // weight. D's step-1 loss is taken before any update; G's after D's first, barely different.
    const data = createShapesDataset({ source: 'shapes', count: 64, resolution: 16, seed: 1 });
    const firstStep = async (
      auxClassifier: number,
    ): Promise<{ dLoss: number; gLoss: number; moved: boolean }> => {
      const session = new TrainingSession(
        tinyConfig(dir, { model: { ...model, auxClassifier } }),
        data,
      );
      const head = session.model.discriminatorParams.get('aux.w')?.dataSync().slice();
      const stats = await session.trainStep();
      const tensors = tf.memory().numTensors;
      for (let i = 0; i < 5; i++) await session.trainStep();
      assert.equal(tf.memory().numTensors, tensors, 'tensors leaked');
      const after = session.model.discriminatorParams.get('aux.w')?.dataSync();
      const moved = !!head && !!after && head.some((v, i) => v !== after[i]);
      session.dispose();
      return { dLoss: stats.dLoss, gLoss: stats.gLoss, moved };
    };
    const plain = await firstStep(0);
    const ac = await firstStep(2);
    assert.ok(
      Math.abs(ac.dLoss - plain.dLoss - 2 * Math.log(4)) < 0.05,
      `D: ${ac.dLoss} vs ${plain.dLoss}`,
    );
    assert.ok(
      Math.abs(ac.gLoss - plain.gLoss - 2 * Math.log(4)) < 0.15,
      `G: ${ac.gLoss} vs ${plain.gLoss}`,
    );
    assert.ok(ac.moved, "D's update trains the head");
  });
});
