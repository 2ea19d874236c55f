/**
 * The tag rows of the quality benchmark (bench/quality.ts --parts tags), on `shapes`, whose true
 * attributes are known:
 * - tag conditioning: cgan and icgan-class conditioned on the images' tags (model.condition
 *   'tags'), trained with the model table's settings; samples are asked for the four tags of a
 *   random real image, and one classifier per attribute group (trained on real images) reads them.
 * - image → tags: the tagging cGAN on the icgan-class run's own instance features (one-hot and
 *   skip-gram tag vectors) and on PCA-64 pixel features, each against a supervised multi-label
 *   classifier on the same features; precision@k and recall@k on held-out images against their
 *   true tags.
 */
import * as path from 'node:path';
import { resolveConfig } from '../src/core/config/loadConfig';
import type { ShapesDataConfig } from '../src/core/config/types';
import {
  createShapesDatasetWithAttributes,
  shapesTagConditions,
} from '../src/core/data/shapesDataset';
import { computeOrLoadFeatures } from '../src/core/features/featureCache';
import { resolveFeatureSettings } from '../src/core/features/featureSettings';
import { loadRunInstances } from '../src/core/instances/prepareInstances';
import {
  measureTagConditioning,
  trainAttributeClassifiers,
  type AttributeGroup,
  type AttributeScore,
} from '../src/core/metrics/tagConditioning';
import { loadGenerator } from '../src/core/sampling/loadGenerator';
import { evaluateTagging, type RankingScore } from '../src/core/tagging/taggingEvaluation';
import { log } from './harness';
import { trainTimed } from './trainTimed';

const KS = [1, 3, 5] as const;

interface ConditioningRow {
  model: string;
  scores: AttributeScore[];
  /** Asked for the shape and colour only. */
  partial: AttributeScore[];
  seconds: number;
}

interface TaggingRow {
  name: string;
  scores: RankingScore[];
}

export async function tagQuality(opts: {
  steps: number;
  samples: number;
  out: string;
  model: Record<string, unknown>;
  training: Record<string, unknown>;
}): Promise<string[]> {
  const data: ShapesDataConfig = { source: 'shapes', count: 10000, resolution: 32, seed: 0 };
  const shapes = createShapesDatasetWithAttributes(data);
  const started = performance.now();
  const judges = await trainAttributeClassifiers(shapes, { steps: 600, width: 16 });
  log(`attribute classifiers in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  const conditioning: ConditioningRow[] = [];
  let icganRun = '';
  try {
    for (const type of ['cgan', 'icgan-class'] as const) {
      const config = resolveConfig(
        {
          seed: 1,
          data,
          model: { ...opts.model, type, condition: 'tags' },
          training: opts.training,
          samples: { every: opts.steps, count: 64 },
          checkpoints: { every: opts.steps, keep: 1 },
          instances: { k: 5, representatives: 8, galleryEvery: opts.steps },
          runsDir: opts.out,
          name: `shapes-${type}-tags`,
        },
        path.join(opts.out, `shapes-${type}-tags.icgan.json`),
      );
      const { runDir, seconds } = await trainTimed(config);
      if (type === 'icgan-class') icganRun = runDir;
      const gen = loadGenerator(runDir);
      try {
        // icgan-class also needs an instance: a random one, so its own attributes compete with
        // the requested tags (the "swap the class" use).
        const measure = (request?: readonly AttributeGroup[]): Promise<AttributeScore[]> =>
          measureTagConditioning(
            gen.model,
            gen.model.generatorParams,
            gen.stats,
            gen.meta.tagNames ?? [],
            shapes,
            judges,
            { samples: opts.samples, seed: 3, instances: gen.instances ?? undefined, request },
          );
        const scores = await measure();
        // What a user typically asks for: some of the tags (here the shape and the colour).
        const partial = await measure(['shape', 'colour']);
        conditioning.push({ model: type, scores, partial, seconds });
        log(`${type} tags: ${JSON.stringify(scores)}`);
      } finally {
        gen.dispose();
      }
    }
  } finally {
    judges.dispose();
  }

  // The run's own (self-supervised) features, and PCA-64 of the pixels: the tagger can only read
  // what the features carry.
  const index = loadRunInstances(icganRun);
  const conditions = shapesTagConditions(shapes);
  const pixels = await computeOrLoadFeatures(
    { ...shapes.dataset, conditions },
    resolveFeatureSettings({ kind: 'pixels', pcaDim: 64 }),
    path.join(opts.out, '.feature-cache'),
  );
  // The schema's tagging defaults, as a config without a tagging section gets them.
  const base = resolveConfig(
    { data, model: { type: 'icgan' } },
    path.join(opts.out, 'tagging.icgan.json'),
  ).tagging;
  const featureSets = [
    {
      name: `the icgan-class run's self-supervised features (${index.dim}-d)`,
      features: index.features,
      dim: index.dim,
      embeddings: ['onehot', 'skipgram'] as const,
    },
    {
      name: 'PCA-64 of the pixels',
      features: pixels.features,
      dim: pixels.dim,
      embeddings: ['onehot'] as const,
    },
  ];
  const tagging: TaggingRow[] = [];
  let chance: RankingScore[] = [];
  for (const set of featureSets) {
    let classifier: RankingScore[] = [];
    for (const embedding of set.embeddings) {
      const t0 = performance.now();
      const r = await evaluateTagging(
        {
          features: set.features,
          dim: set.dim,
          tags: conditions.tags,
          names: conditions.tagNames,
          count: shapes.dataset.count,
        },
        { ...base, embedding },
        { trainFraction: 0.8, ks: KS, classifierSteps: 3000 },
      );
      log(
        `tagging ${embedding} on ${set.name} in ${((performance.now() - t0) / 1000).toFixed(0)} s`,
      );
      tagging.push({
        name: `cGAN tagger, ${embedding} tag vectors, on ${set.name}`,
        scores: r.tagger,
      });
      classifier = r.classifier;
      chance = r.chance;
    }
    tagging.push({
      name: `supervised multi-label classifier on ${set.name} (reference)`,
      scores: classifier,
    });
  }
  tagging.push({ name: 'image-blind ranking (chance)', scores: chance });

  const groups = conditioning[0]?.scores ?? [];
  const lines = [
    '',
    `Tag conditioning on shapes (${opts.steps} steps, same settings as above; ${opts.samples} samples, each asking for a real image's four tags):`,
    '',
    `| model | ${groups.map((g) => `${g.group} (${g.values})`).join(' | ')} | train s |`,
    `|---|${groups.map(() => '---').join('|')}|---|`,
    ...conditioning.flatMap((c) => {
      const name = c.model === 'cgan' ? 'cgan (tags)' : 'icgan-class (tags, on a random instance)';
      const partial = (group: AttributeGroup): string =>
        c.partial.find((s) => s.group === group)?.generatedAccuracy.toFixed(3) ?? '–';
      return [
        `| ${name}, all four tags asked | ${c.scores.map((s) => s.generatedAccuracy.toFixed(3)).join(' | ')} | ${c.seconds.toFixed(0)} |`,
        `| ${name}, shape and colour only | ${groups.map((g) => partial(g.group)).join(' | ')} | |`,
      ];
    }),
    `| real images (classifier accuracy) | ${groups.map((g) => g.realAccuracy.toFixed(3)).join(' | ')} | |`,
    `| chance | ${groups.map((g) => g.chance.toFixed(3)).join(' | ')} | |`,
    '',
    `Image → tags (tagging defaults: ${base.steps} steps, pack ${base.pack}, ${base.samples} votes), 80 % of the images to train, 20 % held out:`,
    '',
    `| tagger | ${KS.map((k) => `P@${k} | R@${k}`).join(' | ')} |`,
    `|---|${KS.map(() => '---|---').join('|')}|`,
    ...tagging.map(
      (t) =>
        `| ${t.name} | ${t.scores.map((s) => `${s.precision.toFixed(3)} | ${s.recall.toFixed(3)}`).join(' | ')} |`,
    ),
  ];
  return lines;
}
