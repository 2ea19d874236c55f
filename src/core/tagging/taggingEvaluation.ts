import type { TaggingConfig } from '../config/types';
import { MultiLabelClassifier } from './multiLabelClassifier';
import { suggestTags } from './suggestTags';
import { tagLists } from './tagEmbeddings';
import { trainTagGan } from './tagGan';
import { buildTagEmbeddings } from './tagRun';

export interface RankingScore {
  k: number;
  /** Mean over test images of |top-k ∩ true| / k. */
  precision: number;
  /** Mean over test images of |top-k ∩ true| / |true|. */
  recall: number;
}

export interface TaggingEvaluation {
  trainImages: number;
  testImages: number;
  tags: number;
  /** The cGAN tagger (votes of generated tag vectors). */
  tagger: RankingScore[];
  /** The supervised multi-label classifier on the same features: the reference. */
  classifier: RankingScore[];
  /** A ranking that ignores the image, in expectation (a random order of the vocabulary). */
  chance: RankingScore[];
  /** Tag indices, best first, per test image (test images are the last `testImages`). */
  taggerRankings: number[][];
  classifierRankings: number[][];
}

export interface TaggingData {
  /** count × dim instance features. */
  features: Float32Array;
  dim: number;
  /** count × names.length multi-hot. */
  tags: Uint8Array;
  names: readonly string[];
  count: number;
}

function score(rankings: number[][], truth: number[][], ks: readonly number[]): RankingScore[] {
  return ks.map((k) => {
    let precision = 0;
    let recall = 0;
    let n = 0;
    rankings.forEach((ranked, i) => {
      const own = new Set(truth[i]);
      if (own.size === 0) return;
      const hits = ranked.slice(0, k).filter((t) => own.has(t)).length;
      precision += hits / k;
      recall += hits / own.size;
      n++;
    });
    return { k, precision: n ? precision / n : 0, recall: n ? recall / n : 0 };
  });
}

/**
 * Image → tags on held-out images: the first `trainFraction` of the images train the tagger and
 * the classifier, the rest are ranked by both and scored against their true tags.
 */
export async function evaluateTagging(
  data: TaggingData,
  settings: TaggingConfig,
  opts: { trainFraction: number; ks: readonly number[]; classifierSteps: number },
): Promise<TaggingEvaluation> {
  const t = data.names.length;
  const split = Math.floor(data.count * opts.trainFraction);
  const test = data.count - split;
  if (split < 1 || test < 1)
    throw new Error('evaluateTagging needs images on both sides of the split');
  const lists = tagLists(data.tags, data.count, t);
  const trainLists = lists.slice(0, split);
  const truth = lists.slice(split);
  const trainFeatures = data.features.subarray(0, split * data.dim);
  const testFeatures = data.features.subarray(split * data.dim);

  const embeddings = await buildTagEmbeddings(data.names, trainLists, settings);
  const gan = await trainTagGan(
    {
      features: trainFeatures,
      featureDim: data.dim,
      tags: trainLists,
      embeddings: embeddings.vectors,
      embedDim: embeddings.dim,
    },
    settings,
  );
  let taggerRankings: number[][];
  try {
    const index = new Map(data.names.map((name, j) => [name, j]));
    taggerRankings = (
      await suggestTags(gan, embeddings, testFeatures, test, {
        samples: settings.samples,
        nearestPerSample: settings.nearestPerSample,
        seed: settings.seed + 1,
      })
    ).map((ranked) => ranked.map((s) => index.get(s.tag) ?? -1));
  } finally {
    gan.dispose();
  }

  const classifier = MultiLabelClassifier.train(trainFeatures, data.dim, data.tags, t, split, {
    hidden: settings.hidden,
    steps: opts.classifierSteps,
    batchSize: settings.batchSize,
    learningRate: 1e-3,
    seed: settings.seed,
  });
  let classifierRankings: number[][];
  try {
    const probs = await classifier.predict(testFeatures, test);
    classifierRankings = Array.from({ length: test }, (_, i) =>
      Array.from({ length: t }, (_, j) => j).sort(
        (a, b) => (probs[i * t + b] ?? 0) - (probs[i * t + a] ?? 0),
      ),
    );
  } finally {
    classifier.dispose();
  }

  const meanTrue =
    truth.reduce((a, l) => a + l.length, 0) / Math.max(1, truth.filter((l) => l.length).length);
  return {
    trainImages: split,
    testImages: test,
    tags: t,
    tagger: score(taggerRankings, truth, opts.ks),
    classifier: score(classifierRankings, truth, opts.ks),
    chance: opts.ks.map((k) => ({ k, precision: meanTrue / t, recall: Math.min(k, t) / t })),
    taggerRankings,
    classifierRankings,
  };
}
