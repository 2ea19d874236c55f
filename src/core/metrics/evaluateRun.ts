import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DataConfig } from '../config/types';
import type { ImageDataset } from '../data/dataset';
import { loadDataset } from '../data/loadDataset';
import { gatherConditionRows } from '../data/batch';
import { loadFeatureExtractor } from '../features/featureExtractor';
import { resolveFeatureSettings, type PixelSettings } from '../features/featureSettings';
import { fitPixelFeatures } from '../features/pixelFeatures';
import { INSTANCE_FILES } from '../instances/prepareInstances';
import { datasetImage } from '../instances/runDataset';
import { Rng } from '../random/rng';
import { RUN_FILES } from '../run/runFolder';
import { gatherRows } from '../sampling/conditionArrays';
import { generateImages } from '../sampling/generateImages';
import { loadGenerator } from '../sampling/loadGenerator';
import { conditioningSimilarity, type ConditioningSimilarity } from './conditioningSimilarity';
import { frechetDistance } from './frechet';
import { ImageClassifier } from './imageClassifier';
import { computePrdc, type Prdc } from './prdc';

export interface EvalOptions {
  /** Real and generated images compared. */
  samples: number;
  seed: number;
  /** Training steps of the feature classifier. */
  classifierSteps: number;
}

export interface EvalResult extends Prdc {
  run: string;
  step: number;
  model: string;
  /** Which features the distances are computed in. */
  features: string;
  frechet: number;
  samples: number;
  /** IC-GAN only: does the conditioning work? */
  conditioning?: ConditioningSimilarity;
}

interface Embedder {
  name: string;
  embed(images: Float32Array, n: number): Promise<Float32Array>;
  dispose(): void;
}

/**
 * The feature space of the metrics: a classifier trained on the labelled data set (no Inception
 * weights exist offline; papers.md), else PCA of the pixels. The result names which.
 */
async function metricFeatures(data: ImageDataset, opts: EvalOptions): Promise<Embedder> {
  if (data.labels && (data.classNames?.length ?? 0) >= 2) {
    const clf = ImageClassifier.train(data, { steps: opts.classifierSteps, seed: opts.seed });
    return {
      name: `penultimate layer (${clf.featureDim}-d) of a classifier trained on the data set for ${opts.classifierSteps} steps`,
      embed: (x, n) => clf.embed(x, n),
      dispose: () => clf.dispose(),
    };
  }
  const settings = resolveFeatureSettings({
    kind: 'pixels',
    pcaDim: 64,
    seed: opts.seed,
  }) as PixelSettings;
  const pca = await fitPixelFeatures(data, settings);
  return {
    name: '64 principal components of the pixels (the data set has no labels)',
    embed: (x, n) => pca.embed(x, n),
    dispose: () => pca.dispose(),
  };
}

/**
 * `icgan eval`: precision, recall, density and coverage (k = 5) and the Fréchet distance between
 * `samples` real and generated images, and for IC-GAN runs the conditioning similarity. Generated
 * images follow the training distribution: classes as often as in the data, and for IC-GAN an
 * instance drawn uniformly with the class of one of its neighbours, as in training.
 */
export async function evaluateRun(runDir: string, opts: EvalOptions): Promise<EvalResult> {
  const config = JSON.parse(fs.readFileSync(path.join(runDir, RUN_FILES.config), 'utf8')) as {
    data: DataConfig;
  };
  const data = await loadDataset(config.data, () => undefined);
  const gen = loadGenerator(runDir);
  const embedder = await metricFeatures(data, opts);
  try {
    const rng = new Rng(opts.seed);
    const n = Math.min(opts.samples, data.count);
    const size = data.height * data.width * data.channels;
    const realIdx = rng.ints(n, data.count);
    const real = new Float32Array(n * size);
    realIdx.forEach((i, r) => real.set(datasetImage(data, i), r * size));
    const { model, instances } = gen;
    let labels: Int32Array | null = null;
    let feats: Float32Array | null = null;
    // Whose y the fakes get: the real neighbour's for IC-GAN (as in training), a random image's else.
    let yImages: Int32Array | null = null;
    if (instances && model.featureDim > 0) {
      const picked = rng.ints(n, instances.count);
      feats = gatherRows(instances.features, instances.dim, picked);
      if (model.numClasses > 0 || model.conditionDim > 0) {
        yImages = picked.map(
          (i) => instances.neighbours[i * instances.k + rng.int(instances.k)] ?? i,
        );
      }
    } else if (model.numClasses > 0 || model.conditionDim > 0) {
      yImages = rng.ints(n, data.count);
    }
    if (yImages && model.numClasses > 0 && data.labels) {
      const own = data.labels;
      labels = yImages.map((i) => own[i] ?? 0);
    }
    const denseKind = gen.meta.condition === 'vector' ? 'vector' : 'tags';
    const vectors =
      yImages && model.conditionDim > 0 ? gatherConditionRows(data, denseKind, yImages) : null;
    const fake = await generateImages(
      model,
      model.generatorParams,
      gen.stats,
      rng.normals(n * model.zDim),
      { labels, instances: feats, vectors },
    );
    const realF = await embedder.embed(real, n);
    const fakeF = await embedder.embed(fake.pixels, n);
    const d = realF.length / n;
    const prdc = await computePrdc(realF, n, fakeF, n, d, 5);
    const result: EvalResult = {
      run: runDir,
      step: gen.meta.step,
      model: gen.meta.modelType,
      features: embedder.name,
      ...prdc,
      frechet: frechetDistance(realF, n, fakeF, n, d),
      samples: n,
    };
    if (instances && model.featureDim > 0) {
      const extractor = await loadFeatureExtractor(path.join(runDir, INSTANCE_FILES.extractor));
      try {
        result.conditioning = await conditioningSimilarity(
          model,
          model.generatorParams,
          gen.stats,
          instances,
          extractor,
          {
            instances: Math.min(256, instances.count),
            samplesPerInstance: 4,
            seed: opts.seed + 1,
          },
        );
      } finally {
        extractor.dispose();
      }
    }
    return result;
  } finally {
    embedder.dispose();
    gen.dispose();
  }
}
