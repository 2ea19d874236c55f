/**
 * Quality benchmark: unconditional DCGAN vs cGAN vs IC-GAN vs class-conditional IC-GAN, each
 * trained with the same step budget on the same data, then evaluated with `icgan eval`'s metrics
 * (PRDC with k = 5 and the Fréchet distance in the features of a classifier trained on the data;
 * for IC-GAN also the conditioning similarity). The paper's claims under test: IC-GAN beats the
 * unconditional GAN, and class-conditional IC-GAN beats cGAN.
 *
 * `--parts tags` adds the tag rows (bench/tagQuality.ts): tag-conditioned generation read by
 * attribute classifiers, and image → tags against a supervised classifier.
 *
 *   npx tsx bench/quality.ts [--steps 3000] [--samples 2000] [--datasets shapes,fashion-mnist]
 *                            [--parts models,tags] [--out DIR]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../src/core/backend/backendChain';
import { resolveConfig } from '../src/core/config/loadConfig';
import { evaluateRun, type EvalResult } from '../src/core/metrics/evaluateRun';
import { flag } from './harness';
import { trainTimed } from './trainTimed';
import { tagQuality } from './tagQuality';

const MODELS = ['dcgan', 'cgan', 'icgan', 'icgan-class'] as const;

const FASHION = '/usr/share/datasets/fashion-mnist';

/** Identical settings for every model; only the conditioning differs. */
const MODEL = {
  zDim: 64,
  gWidth: 16,
  dWidth: 16,
  embedDim: 32,
  dNorm: 'batch',
  dMinibatchStd: true,
};
// The settings the published table was measured with, pinned against the project's defaults.
const TRAINING = {
  batchSize: 32,
  loss: 'nonsaturating',
  gLr: 2e-4,
  dLr: 2e-4,
  beta1: 0.5,
  logEvery: 100,
};

function dataFor(name: string): Record<string, unknown> {
  if (name === 'shapes') return { source: 'shapes', count: 10000, resolution: 32 };
  if (name === 'fashion-mnist') {
    if (!fs.existsSync(`${FASHION}/train-images-idx3-ubyte.gz`)) {
      throw new Error(
        `Fashion-MNIST not found in ${FASHION}: apt-get install dataset-fashion-mnist`,
      );
    }
    return {
      source: 'idx',
      images: `${FASHION}/train-images-idx3-ubyte.gz`,
      labels: `${FASHION}/train-labels-idx1-ubyte.gz`,
      resolution: 32,
      limit: 20000,
    };
  }
  throw new Error(`unknown data set '${name}' (shapes, fashion-mnist)`);
}

async function main(): Promise<void> {
  const steps = Number(flag('steps', '3000'));
  const samples = Number(flag('samples', '2000'));
  const parts = flag('parts', 'models,tags').split(',');
  const datasets = parts.includes('models')
    ? flag('datasets', 'shapes,fashion-mnist').split(',')
    : [];
  const out = path.resolve(flag('out', path.join(os.tmpdir(), 'icgan-quality')));
  await initBackend('wasm');
  const rows: { dataset: string; result: EvalResult; seconds: number }[] = [];
  for (const dataset of datasets) {
    for (const type of MODELS) {
      const config = resolveConfig(
        {
          seed: 1,
          data: dataFor(dataset),
          model: { ...MODEL, type },
          training: { ...TRAINING, steps },
          samples: { every: steps, count: 64 },
          checkpoints: { every: steps, keep: 1 },
          instances: { k: 5, representatives: 8, galleryEvery: steps },
          runsDir: out,
          name: `${dataset}-${type}`,
        },
        path.join(out, `${dataset}-${type}.icgan.json`),
      );
      const { runDir, seconds } = await trainTimed(config);
      const result = await evaluateRun(runDir, { samples, seed: 0, classifierSteps: 600 });
      rows.push({ dataset, result, seconds });
      process.stderr.write(`${dataset} ${type}: ${JSON.stringify(result)}\n`);
    }
  }
  if (rows.length > 0) printModelTable(rows, steps, samples);
  if (parts.includes('tags')) {
    const lines = await tagQuality({
      steps,
      samples,
      out,
      model: MODEL,
      training: { ...TRAINING, steps },
    });
    console.log(lines.join('\n'));
  }
}

function printModelTable(
  rows: { dataset: string; result: EvalResult; seconds: number }[],
  steps: number,
  samples: number,
): void {
  console.log(
    `Same budget for every model: ${steps} steps of batch 32 at 32×32; ${samples} real and generated images.`,
  );
  console.log(
    `Features: ${rows[0]?.result.features ?? '-'} (one classifier per data set, same seed).\n`,
  );
  console.log(
    '| data | model | FD ↓ | precision | recall | density | coverage | cond. sim. own / random | train s |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const { dataset, result: r, seconds } of rows) {
    const cond = r.conditioning
      ? `${r.conditioning.own.toFixed(3)} / ${r.conditioning.random.toFixed(3)}`
      : '–';
    console.log(
      `| ${dataset} | ${r.model} | ${r.frechet.toFixed(2)} | ${r.precision.toFixed(3)} | ${r.recall.toFixed(3)} | ${r.density.toFixed(3)} | ${r.coverage.toFixed(3)} | ${cond} | ${seconds.toFixed(0)} |`,
    );
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
