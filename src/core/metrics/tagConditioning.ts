import type { ImageDataset } from '../data/dataset';
import type { ShapeAttributes, ShapesDatasetWithAttributes } from '../data/shapesDataset';
import type { GanModel } from '../models/ganModel';
import type { BnStats } from '../models/layers';
import type { TensorMap } from '../models/paramStore';
import { Rng } from '../random/rng';
import type { InstanceIndex } from '../instances/instanceIndex';
import { gatherRows } from '../sampling/conditionArrays';
import { generateImages } from '../sampling/generateImages';
import { ImageClassifier, type ClassifierOptions } from './imageClassifier';

/** The shapes' attribute groups, each a set of mutually exclusive tags. */
export const ATTRIBUTE_GROUPS = ['shape', 'colour', 'size', 'position'] as const;
export type AttributeGroup = (typeof ATTRIBUTE_GROUPS)[number];

/** One classifier per attribute group, trained on real shapes; how well it reads real images. */
export interface AttributeClassifiers {
  classifiers: Map<AttributeGroup, ImageClassifier>;
  /** Accuracy of each classifier on held-out real images: the ceiling for generated ones. */
  realAccuracy: Map<AttributeGroup, number>;
  dispose(): void;
}

export interface AttributeScore {
  group: AttributeGroup;
  values: number;
  /** 1 / values: a generator that ignores its tags. */
  chance: number;
  realAccuracy: number;
  /** Fraction of generated images whose classifier-read attribute is the requested one. */
  generatedAccuracy: number;
}

function attributeLabels(data: ShapesDatasetWithAttributes, group: AttributeGroup): Int32Array {
  return Int32Array.from(data.attributes, (a: ShapeAttributes) => a[group]);
}

/** The same images labelled by one attribute group. */
function relabel(
  data: ShapesDatasetWithAttributes,
  group: AttributeGroup,
  from: number,
  to: number,
): ImageDataset {
  const size = data.dataset.height * data.dataset.width * data.dataset.channels;
  return {
    ...data.dataset,
    count: to - from,
    images: data.dataset.images.subarray(from * size, to * size),
    labels: attributeLabels(data, group).subarray(from, to),
    classNames: [...data.attributeNames[group]],
    conditions: undefined,
  };
}

/**
 * Trains a classifier per attribute group on the first 80 % of `data` and measures it on the
 * rest. Generated images are judged by classifiers that never saw a generated image.
 */
export async function trainAttributeClassifiers(
  data: ShapesDatasetWithAttributes,
  options: Partial<ClassifierOptions> = {},
  groups: readonly AttributeGroup[] = ATTRIBUTE_GROUPS,
): Promise<AttributeClassifiers> {
  const split = Math.floor(data.dataset.count * 0.8);
  const classifiers = new Map<AttributeGroup, ImageClassifier>();
  const realAccuracy = new Map<AttributeGroup, number>();
  for (const group of groups) {
    const clf = ImageClassifier.train(relabel(data, group, 0, split), options);
    const held = relabel(data, group, split, data.dataset.count);
    const predicted = await clf.predict(held.images, held.count);
    const truth = held.labels as Int32Array;
    realAccuracy.set(group, agreement(predicted, truth));
    classifiers.set(group, clf);
  }
  return {
    classifiers,
    realAccuracy,
    dispose: () => classifiers.forEach((c) => c.dispose()),
  };
}

function agreement(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let hits = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) hits++;
  return a.length > 0 ? hits / a.length : 0;
}

/**
 * How often a tags-conditioned generator draws the attributes it is asked for. Each sample asks
 * for the tags of a random real image (its shape, colour, size and position, or the `request`ed
 * groups of them), so every request is a combination the data set has; each group's classifier
 * then reads the generated image.
 */
export async function measureTagConditioning(
  model: GanModel,
  params: TensorMap,
  stats: ReadonlyMap<string, BnStats>,
  tagNames: readonly string[],
  data: ShapesDatasetWithAttributes,
  judges: AttributeClassifiers,
  opts: {
    samples: number;
    seed: number;
    truncation?: number;
    /**
     * For icgan-class: the run's instances. Each sample gets a random instance and another real
     * image's tags, so the score is how well the tags override what the instance implies.
     */
    instances?: InstanceIndex;
    /** The groups whose tags are requested (default: all four); only these are scored. */
    request?: readonly AttributeGroup[];
  },
): Promise<AttributeScore[]> {
  const requestedGroups = opts.request ?? ATTRIBUTE_GROUPS;
  if (model.conditionDim !== tagNames.length) {
    throw new Error(
      `the model takes ${model.conditionDim} tags, the vocabulary has ${tagNames.length}`,
    );
  }
  const rng = new Rng(opts.seed);
  const requested = rng.ints(opts.samples, data.dataset.count);
  const column = new Map(tagNames.map((t, i) => [t, i]));
  const d = tagNames.length;
  const vectors = new Float32Array(opts.samples * d);
  requested.forEach((image, s) => {
    const a = data.attributes[image] as ShapeAttributes;
    for (const group of requestedGroups) {
      const tag = data.attributeNames[group][a[group]] ?? '';
      const at = column.get(tag);
      if (at === undefined) throw new Error(`the run has no tag '${tag}'`);
      vectors[s * d + at] = 1;
    }
  });
  const index = opts.instances;
  if (model.featureDim > 0 && !index) throw new Error(`model '${model.type}' needs its instances`);
  const instances = index
    ? gatherRows(index.features, index.dim, rng.ints(opts.samples, index.count))
    : null;
  const images = await generateImages(
    model,
    params,
    stats,
    rng.normals(opts.samples * model.zDim, opts.truncation ?? 0),
    { vectors, instances },
  );
  const judged = [...judges.classifiers].filter(([group]) => requestedGroups.includes(group));
  const scores: AttributeScore[] = [];
  for (const [group, clf] of judged) {
    const predicted = await clf.predict(images.pixels, opts.samples);
    const wanted = Int32Array.from(
      requested,
      (i) => (data.attributes[i] as ShapeAttributes)[group],
    );
    const values = data.attributeNames[group].length;
    scores.push({
      group,
      values,
      chance: 1 / values,
      realAccuracy: judges.realAccuracy.get(group) ?? 0,
      generatedAccuracy: agreement(predicted, wanted),
    });
  }
  return scores;
}
