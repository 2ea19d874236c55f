/**
 * The measurements behind two tagging defaults (README, "Conditions from data" and "Image →
 * tags"), each value side by side in one run:
 *
 *   npx tsx bench/tagAblation.ts --what dropout [--values 0,0.15,0.25]
 *     model.tagDropout: a tags cgan on shapes (4,000 images, 16×16, 1,000 steps) per value; the
 *     share of samples with the requested attributes when asked for all four tags, the colour
 *     alone, the shape and colour, the size and position (classifiers trained on real images).
 *   npx tsx bench/tagAblation.ts --what pack [--values 1,4,8,16]
 *     tagging.pack: the tagging cGAN on the self-supervised features of shapes (10,000 images,
 *     32×32, the features an IC-GAN run of it computes), precision@k on 2,000 held-out images.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../src/core/backend/backendChain';
import { resolveConfig } from '../src/core/config/loadConfig';
import type { ShapesDataConfig } from '../src/core/config/types';
import {
  createShapesDatasetWithAttributes,
  shapesTagConditions,
} from '../src/core/data/shapesDataset';
import { computeOrLoadFeatures } from '../src/core/features/featureCache';
import { resolveFeatureSettings } from '../src/core/features/featureSettings';
import {
  measureTagConditioning,
  trainAttributeClassifiers,
  type AttributeGroup,
} from '../src/core/metrics/tagConditioning';
import { disposeStats } from '../src/core/sampling/standingStats';
import { evaluateTagging } from '../src/core/tagging/taggingEvaluation';
import { TrainingSession } from '../src/core/train/trainingSession';
import { flag, log } from './harness';

const REQUESTS: { name: string; groups?: AttributeGroup[] }[] = [
  { name: 'all four' },
  { name: 'colour only', groups: ['colour'] },
  { name: 'shape + colour', groups: ['shape', 'colour'] },
  { name: 'size + position', groups: ['size', 'position'] },
];

async function dropout(values: number[]): Promise<void> {
  const data: ShapesDataConfig = { source: 'shapes', count: 4000, resolution: 16, seed: 0 };
  const shapes = createShapesDatasetWithAttributes(data);
  const withTags = { ...shapes.dataset, conditions: shapesTagConditions(shapes) };
  const judges = await trainAttributeClassifiers(shapes, { steps: 400, width: 16 });
  console.log('| tagDropout | request | shape | colour | size | position |');
  console.log('|---|---|---|---|---|---|');
  try {
    for (const value of values) {
      const config = resolveConfig(
        {
          seed: 3,
          data,
          model: {
            type: 'cgan',
            condition: 'tags',
            tagDropout: value,
            zDim: 32,
            gWidth: 16,
            dWidth: 16,
            embedDim: 16,
          },
          // beta1 as the published ablation was measured (the default is now 0).
          training: {
            steps: 1000,
            batchSize: 32,
            loss: 'hinge',
            gLr: 0.001,
            dLr: 0.001,
            beta1: 0.5,
          },
        },
        path.join(os.tmpdir(), 'tag-dropout.icgan.json'),
      );
      const session = new TrainingSession(config, withTags);
      try {
        for (let i = 0; i < config.training.steps; i++) await session.trainStep();
        const stats = session.standingStats();
        try {
          for (const request of REQUESTS) {
            const scores = await measureTagConditioning(
              session.model,
              session.ema,
              stats,
              withTags.conditions.tagNames,
              shapes,
              judges,
              { samples: 300, seed: 5, request: request.groups },
            );
            const cell = (g: AttributeGroup) =>
              scores.find((s) => s.group === g)?.generatedAccuracy.toFixed(2) ?? '–';
            console.log(
              `| ${value} | ${request.name} | ${cell('shape')} | ${cell('colour')} | ${cell('size')} | ${cell('position')} |`,
            );
          }
        } finally {
          disposeStats(stats);
        }
      } finally {
        session.dispose();
      }
      log(`tagDropout ${value} done`);
    }
  } finally {
    judges.dispose();
  }
}

async function pack(values: number[], out: string): Promise<void> {
  const data: ShapesDataConfig = { source: 'shapes', count: 10000, resolution: 32, seed: 0 };
  const shapes = createShapesDatasetWithAttributes(data);
  const conditions = shapesTagConditions(shapes);
  const features = await computeOrLoadFeatures(
    { ...shapes.dataset, conditions },
    resolveFeatureSettings({}),
    path.join(out, '.feature-cache'),
    log,
  );
  const base = resolveConfig(
    { data, model: { type: 'icgan' } },
    path.join(out, 'x.icgan.json'),
  ).tagging;
  console.log('| pack | P@1 | P@3 | P@5 |');
  console.log('|---|---|---|---|');
  for (const value of values) {
    const r = await evaluateTagging(
      {
        features: features.features,
        dim: features.dim,
        tags: conditions.tags,
        names: conditions.tagNames,
        count: shapes.dataset.count,
      },
      { ...base, pack: value },
      // The classifier is not compared here: a token number of steps.
      { trainFraction: 0.8, ks: [1, 3, 5], classifierSteps: 10 },
    );
    console.log(`| ${value} | ${r.tagger.map((s) => s.precision.toFixed(3)).join(' | ')} |`);
  }
}

async function main(): Promise<void> {
  const what = flag('what', 'dropout');
  const out = path.resolve(flag('out', path.join(os.tmpdir(), 'icgan-tag-ablation')));
  await initBackend('wasm');
  if (what === 'dropout') {
    await dropout(flag('values', '0,0.15,0.25').split(',').map(Number));
  } else if (what === 'pack') {
    await pack(flag('values', '1,4,8,16').split(',').map(Number), out);
  } else {
    throw new Error(`--what: 'dropout' or 'pack', not '${what}'`);
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
