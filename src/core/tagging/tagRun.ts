import * as path from 'node:path';
import type { TaggingConfig } from '../config/types';
import { UserError } from '../errors';
import { loadFeatureExtractor } from '../features/featureExtractor';
import { decodeImageFile } from '../image/imageFile';
import type { InstanceIndex } from '../instances/instanceIndex';
import { INSTANCE_FILES, loadRunInstances } from '../instances/prepareInstances';
import { loadRunDataset } from '../instances/runDataset';
import { assertRunFolder } from '../run/runFolder';
import { loadRunConfig } from '../run/runConfig';
import { suggestTags, type TagSuggestion } from './suggestTags';
import {
  oneHotEmbeddings,
  skipGramEmbeddings,
  tagLists,
  type TagEmbeddings,
} from './tagEmbeddings';
import { trainTagGan } from './tagGan';
import { withTaggerLock } from './taggerLock';
import { loadTagger, saveTagger, type Tagger } from './taggerStore';

export interface TagOptions {
  /** Images to tag (PNG, JPEG, WebP): embedded with the run's own extractor. */
  images: string[];
  /** How many tags to list per image. */
  top: number;
  seed: number;
  /** Train the tagger again even if the run has one. */
  retrain?: boolean;
}

export interface TagResult {
  /** The tagger file (trained now, or before). */
  tagger: string;
  trained: boolean;
  embedding: TagEmbeddings['kind'];
  images: { image: string; tags: TagSuggestion[] }[];
}

/** Tag embeddings as the settings ask, from the training images' tag sets. */
export async function buildTagEmbeddings(
  names: readonly string[],
  lists: readonly number[][],
  s: TaggingConfig,
): Promise<TagEmbeddings> {
  return s.embedding === 'onehot'
    ? oneHotEmbeddings(names)
    : skipGramEmbeddings(names, lists, {
        dim: s.embedDim,
        steps: 1500,
        batchSize: 64,
        negatives: 5,
        learningRate: 0.01,
        seed: s.seed,
      });
}

/**
 * Trains the run's tagger on its instance features and its data set's tags, and saves it in the
 * run folder. The data set is read again from the run's config, so its tags are the current
 * sidecar's (or the shapes' attributes).
 */
export async function trainRunTagger(
  runDir: string,
  index: InstanceIndex,
  log: (line: string) => void,
): Promise<Tagger> {
  const config = loadRunConfig(runDir);
  const s = config.tagging;
  const data = await loadRunDataset(runDir, index.count, log);
  const c = data.conditions;
  if (!c || c.tagNames.length < 2) {
    throw new UserError(
      `${runDir}: the run's data set has ${c ? `${c.tagNames.length} tag` : 'no tags'}; tagging needs at least 2 (give the folder a data.sidecar with tags)`,
    );
  }
  const lists = tagLists(c.tags, data.count, c.tagNames.length);
  const tagged = lists.filter((l) => l.length > 0).length;
  const started = performance.now();
  log(
    `tagger: ${s.embedding} tag vectors for ${c.tagNames.length} tags; training the tagging cGAN on ${tagged} tagged images, ${s.steps} steps`,
  );
  const embeddings = await buildTagEmbeddings(c.tagNames, lists, s);
  const gan = await trainTagGan(
    {
      features: index.features,
      featureDim: index.dim,
      tags: lists,
      embeddings: embeddings.vectors,
      embedDim: embeddings.dim,
    },
    s,
    (step, d, g) => log(`tagger: step ${step}/${s.steps} D ${d.toFixed(3)} G ${g.toFixed(3)}`),
  );
  try {
    const file = await saveTagger(runDir, gan, embeddings, s, tagged);
    log(
      `tagger: trained in ${((performance.now() - started) / 1000).toFixed(1)} s, saved ${path.relative(runDir, file)}`,
    );
    return { gan, embeddings, settings: s, file, dispose: () => gan.dispose() };
  } catch (err) {
    gan.dispose();
    throw err;
  }
}

/**
 * `icgan tag`: the tags the run's tagger suggests for images, training the tagger first when the
 * run has none (or `retrain`). Needs an IC-GAN run: the images are embedded by its extractor.
 */
export async function tagImages(
  runDir: string,
  opts: TagOptions,
  log: (line: string) => void = () => undefined,
): Promise<TagResult> {
  const dir = path.resolve(runDir);
  assertRunFolder(dir);
  if (opts.images.length === 0) throw new UserError('tag: give at least one --image');
  let index: InstanceIndex;
  try {
    index = loadRunInstances(dir);
  } catch {
    throw new UserError(
      `${dir}: tagging needs an IC-GAN run (icgan or icgan-class): it reads an image through the run's instance features`,
    );
  }
  const extractor = await loadFeatureExtractor(path.join(dir, INSTANCE_FILES.extractor));
  let tagger: Tagger | null = null;
  try {
    let existing = opts.retrain ? null : loadTagger(dir);
    let trained = false;
    if (!existing) {
      // Under the lock, look again: a request that waited finds the tagger the other trained.
      existing = await withTaggerLock(dir, log, async () => {
        const found = opts.retrain ? null : loadTagger(dir);
        if (found) return found;
        trained = true;
        return trainRunTagger(dir, index, log);
      });
    }
    tagger = existing;
    const { height, channels } = extractor.input;
    const features = new Float32Array(opts.images.length * index.dim);
    for (const [i, image] of opts.images.entries()) {
      const pixels = await decodeImageFile(image, height, channels, 'cover');
      features.set(await extractor.embed(pixels, 1), i * index.dim);
    }
    const ranked = await suggestTags(tagger.gan, tagger.embeddings, features, opts.images.length, {
      samples: tagger.settings.samples,
      nearestPerSample: tagger.settings.nearestPerSample,
      seed: opts.seed,
    });
    return {
      tagger: tagger.file,
      trained,
      embedding: tagger.embeddings.kind,
      images: opts.images.map((image, i) => ({
        image: path.resolve(image),
        tags: (ranked[i] ?? []).filter((t) => t.score > 0).slice(0, opts.top),
      })),
    };
  } finally {
    tagger?.dispose();
    extractor.dispose();
  }
}
