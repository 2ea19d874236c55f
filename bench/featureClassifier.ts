/**
 * A supervised instance-feature model for IC-GAN: a small CNN classifier trained on a config's
 * labelled training images, saved as a TF.js layers model that `instances.features.kind: model`
 * reads at its `embedding` layer (the penultimate one). The IC-GAN paper conditions on supervised
 * (ResNet-50) as well as self-supervised (SwAV) features; with labels the neighbourhoods A_i
 * are of the instance's class far more often than label-free features of this size manage
 * (bench/featureQuality.ts), and transfer keeps the class of the unseen image accordingly.
 *
 *   npx tsx bench/featureClassifier.ts --config FILE.icgan.json --out DIR [--epochs 5] [--seed 7]
 *
 * Trains on exactly the config's training images (its data section, limit included) and reports
 * accuracy on the held-out set (shapes: another seed; IDX: the t10k sibling), which it never
 * trains on. The architecture and seed differ from the referee's classifier
 * (src/core/metrics/imageClassifier.ts), so the judge does not share this model's mistakes by
 * construction.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../src/core/backend/backendChain';
import { loadConfigFile } from '../src/core/config/loadConfig';
import type { ImageDataset } from '../src/core/data/dataset';
import { loadDataset } from '../src/core/data/loadDataset';
import { MODEL_JSON } from '../src/core/features/modelFiles';
import { flag, loadAvg, log } from './harness';
import { heldOutSet } from './refereeRuns';
import { saveLayersModel } from '../test/support/saveLayersModel';

/** The layer the config's `instances.features.layer` names. */
export const EMBEDDING_LAYER = 'embedding';

function buildClassifier(data: ImageDataset, classes: number, seed: number): tfl.LayersModel {
  const init = (k: number): ReturnType<typeof tfl.initializers.heNormal> =>
    tfl.initializers.heNormal({ seed: seed * 100 + k });
  const conv = (filters: number, k: number): tfl.layers.Layer =>
    tfl.layers.conv2d({
      filters,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: init(k),
    });
  return tfl.sequential({
    layers: [
      tfl.layers.inputLayer({ inputShape: [data.height, data.width, data.channels] }),
      conv(32, 1),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      conv(64, 2),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      conv(128, 3),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.flatten(),
      tfl.layers.dense({
        units: 128,
        activation: 'relu',
        name: EMBEDDING_LAYER,
        kernelInitializer: init(4),
      }),
      tfl.layers.dense({ units: classes, activation: 'softmax', kernelInitializer: init(5) }),
    ],
  });
}

function tensors(data: ImageDataset): { x: tf.Tensor4D; y: tf.Tensor2D } {
  if (!data.labels || !data.classNames) throw new Error(`${data.description}: no class labels`);
  const x = tf.tensor4d(data.images, [data.count, data.height, data.width, data.channels]);
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d(data.labels!, 'int32'), data.classNames!.length));
  return { x, y: y as tf.Tensor2D };
}

async function main(): Promise<void> {
  const configPath = path.resolve(flag('config', 'bench/configs/fashion-mnist-icgan.icgan.json'));
  const out = path.resolve(flag('out', '.cache/feature-models/fashion-mnist-classifier'));
  const epochs = Number(flag('epochs', '5'));
  const seed = Number(flag('seed', '7'));
  const config = loadConfigFile(configPath);
  await initBackend(config.backend === 'auto' ? 'wasm' : config.backend);
  const train = await loadDataset(config.data, () => undefined);
  const held = await heldOutSet(config.data, 10_000);
  const classes = train.classNames?.length ?? 0;
  log(
    `CPU: ${os.cpus()[0]?.model ?? 'unknown'} × ${os.cpus().length}; load ${loadAvg()}; ` +
      `${train.description}; held out: ${held.count}`,
  );
  const model = buildClassifier(train, classes, seed);
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
  const t = tensors(train);
  const h = tensors(held);
  const t0 = performance.now();
  await model.fit(t.x, t.y, {
    epochs,
    batchSize: 64,
    shuffle: true,
    verbose: 0,
    callbacks: {
      onEpochEnd: (epoch, logs) =>
        log(`epoch ${epoch + 1}/${epochs}: loss ${logs?.loss?.toFixed(4)}`),
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  await saveLayersModel(model, out);
  const accuracy = tf.tidy(() => {
    const predicted = tf.argMax(model.predict(h.x, { batchSize: 256 }) as tf.Tensor2D, 1);
    return tf.mean(tf.cast(tf.equal(predicted, tf.argMax(h.y, 1)), 'float32')).dataSync()[0] ?? 0;
  });
  tf.dispose([t.x, t.y, h.x, h.y]);
  console.log(
    `trained on ${train.count} images, ${epochs} epochs in ${seconds.toFixed(0)} s; ` +
      `held-out accuracy ${(100 * accuracy).toFixed(1)} % on ${held.count}; ` +
      `saved ${path.join(out, MODEL_JSON)} (features: layer '${EMBEDDING_LAYER}', inputRange '[-1,1]')`,
  );
}

main().catch((err: unknown) => {
  log(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
