import type { ImageDataset } from '../data/dataset';
import { datasetImage } from '../instances/runDataset';
import { Rng } from '../random/rng';
import { blankThreshold, foregroundShares, shareBelow } from './foreground';
import { frechetDistance } from './frechet';
import { ImageClassifier, type ClassifierOptions } from './imageClassifier';
import { computePrdc, type Prdc } from './prdc';

/**
 * The referee of sample quality: judges generated images the way a person looking at a grid
 * would, with models that only ever saw real data.
 *
 * - a classifier trained on the real training images (and measured on held-out real images) says
 *   whether each sample is of the class it was asked for, and its penultimate layer is the feature
 *   space of the Fréchet distance and PRDC (no Inception weights exist offline; papers.md);
 * - the foreground share (foreground.ts) says whether a sample is blank;
 * - optionally a second attribute (the shapes' colour) read by its own classifier says how many
 *   of the data's values each class still shows: a class that collapsed onto one or two colours
 *   keeps its class accuracy but loses them.
 */

/** An attribute of the images besides the class, e.g. the shapes' colour. */
export interface JudgedAttribute {
  name: string;
  values: readonly string[];
  /** The attribute of each training image, then of each held-out image. */
  train: Int32Array;
  heldOut: Int32Array;
}

export interface JudgeOptions {
  /** Held-out real images compared with the samples (FD, PRDC). */
  samples: number;
  seed: number;
  classifier?: Partial<ClassifierOptions>;
}

export interface SampleVerdict extends Prdc {
  n: number;
  /** Share of samples the classifier reads as the class requested (null without requests). */
  classAccuracy: number | null;
  /** Share of samples with (almost) no foreground. */
  blank: number;
  /** Per class: how many values of the attribute show in ≥ 1/4 of their fair share of samples. */
  attributeValuesPerClass: number[] | null;
  frechet: number;
}

/** What the referee's own models score on real images: the ceiling for generated ones. */
export interface JudgeCalibration {
  classifierAccuracy: number;
  attributeAccuracy: number | null;
  /** Real images counted as blank (should be 0). */
  realBlank: number;
  blankLimit: number;
  /** FD and PRDC of training images against the held-out ones: what "as good as real" scores. */
  realAgainstReal: { frechet: number } & Prdc;
  /** Attribute values per class among real images, by the same rule as for samples. */
  realAttributeValuesPerClass: number[] | null;
}

/** A share counts an attribute value as present when it is ≥ this fraction of a uniform share. */
const PRESENT_FRACTION = 0.25;

export class SampleJudge {
  private constructor(
    private readonly classifier: ImageClassifier,
    private readonly attribute: { spec: JudgedAttribute; classifier: ImageClassifier } | null,
    private readonly heldOutFeatures: Float32Array,
    private readonly nHeld: number,
    readonly calibration: JudgeCalibration,
    private readonly side: number,
    private readonly channels: number,
    readonly numClasses: number,
  ) {}

  /** Trains the referee's models on `train` and calibrates them on `heldOut` (both labelled). */
  static async train(
    train: ImageDataset,
    heldOut: ImageDataset,
    opts: JudgeOptions,
    attribute?: JudgedAttribute,
  ): Promise<SampleJudge> {
    const numClasses = train.classNames?.length ?? 0;
    if (!train.labels || !heldOut.labels || numClasses < 2) {
      throw new Error('the sample judge needs labelled training and held-out images');
    }
    const clfOpts = { steps: 1500, width: 16, seed: opts.seed, ...opts.classifier };
    const classifier = ImageClassifier.train(train, clfOpts);
    const nHeld = Math.min(opts.samples, heldOut.count);
    const held = firstImages(heldOut, nHeld);
    const heldLabels = heldOut.labels.subarray(0, nHeld);
    const classifierAccuracy = agreement(await classifier.predict(held, nHeld), heldLabels);
    let attr: { spec: JudgedAttribute; classifier: ImageClassifier } | null = null;
    let attributeAccuracy: number | null = null;
    if (attribute) {
      const relabelled: ImageDataset = {
        ...train,
        labels: attribute.train,
        classNames: [...attribute.values],
        conditions: undefined,
      };
      const c = ImageClassifier.train(relabelled, { ...clfOpts, seed: opts.seed + 7 });
      attr = { spec: attribute, classifier: c };
      attributeAccuracy = agreement(
        await c.predict(held, nHeld),
        attribute.heldOut.subarray(0, nHeld),
      );
    }
    const side = heldOut.height;
    const channels = heldOut.channels;
    const realShares = foregroundShares(held, nHeld, side, channels);
    const blankLimit = blankThreshold(realShares);
    const heldOutFeatures = await classifier.embed(held, nHeld);
    // Training images as if they were samples: the scores of a perfect generator.
    const rng = new Rng(opts.seed + 3);
    const pick = rng.ints(nHeld, train.count);
    const trainImages = gatherImages(train, pick);
    const trainFeatures = await classifier.embed(trainImages, nHeld);
    const d = classifier.featureDim;
    const judge = new SampleJudge(
      classifier,
      attr,
      heldOutFeatures,
      nHeld,
      {
        classifierAccuracy,
        attributeAccuracy,
        realBlank: shareBelow(realShares, blankLimit),
        blankLimit,
        realAgainstReal: {
          frechet: frechetDistance(trainFeatures, nHeld, heldOutFeatures, nHeld, d),
          ...(await computePrdc(heldOutFeatures, nHeld, trainFeatures, nHeld, d, 5)),
        },
        realAttributeValuesPerClass: null,
      },
      side,
      channels,
      numClasses,
    );
    if (attribute) {
      const labels = Int32Array.from(pick, (i) => train.labels?.[i] ?? 0);
      judge.calibration.realAttributeValuesPerClass = await judge.valuesPerClass(
        trainImages,
        nHeld,
        labels,
        new Uint8Array(nHeld),
      );
    }
    return judge;
  }

  /** Judges n samples (NHWC in [-1, 1]); `requested` is the class each was generated for. */
  async judge(
    pixels: Float32Array,
    n: number,
    requested: Int32Array | null,
  ): Promise<SampleVerdict> {
    const shares = foregroundShares(pixels, n, this.side, this.channels);
    const blankMask = Uint8Array.from(shares, (s) => (s < this.calibration.blankLimit ? 1 : 0));
    const features = await this.classifier.embed(pixels, n);
    const d = this.classifier.featureDim;
    return {
      n,
      classAccuracy: requested
        ? agreement(await this.classifier.predict(pixels, n), requested)
        : null,
      blank: shareBelow(shares, this.calibration.blankLimit),
      attributeValuesPerClass:
        requested && this.attribute
          ? await this.valuesPerClass(pixels, n, requested, blankMask)
          : null,
      frechet: frechetDistance(this.heldOutFeatures, this.nHeld, features, n, d),
      ...(await computePrdc(this.heldOutFeatures, this.nHeld, features, n, d, 5)),
    };
  }

  /** The class the referee's classifier reads in each image. */
  classify(pixels: Float32Array, n: number): Promise<Int32Array> {
    return this.classifier.predict(pixels, n);
  }

  private async valuesPerClass(
    pixels: Float32Array,
    n: number,
    requested: Int32Array,
    blank: Uint8Array,
  ): Promise<number[]> {
    const attr = this.attribute;
    if (!attr) return [];
    const v = attr.spec.values.length;
    const read = await attr.classifier.predict(pixels, n);
    const counts = Array.from({ length: this.numClasses }, () => new Array<number>(v).fill(0));
    const totals = new Array<number>(this.numClasses).fill(0);
    for (let i = 0; i < n; i++) {
      if (blank[i]) continue;
      const c = requested[i]!;
      counts[c]![read[i]!]!++;
      totals[c]!++;
    }
    return counts.map((row, c) => {
      const floor = (PRESENT_FRACTION * totals[c]!) / v;
      return row.filter((k) => k > 0 && k >= floor).length;
    });
  }

  dispose(): void {
    this.classifier.dispose();
    this.attribute?.classifier.dispose();
  }
}

function firstImages(data: ImageDataset, n: number): Float32Array {
  const size = data.height * data.width * data.channels;
  return data.images.slice(0, n * size);
}

function gatherImages(data: ImageDataset, indices: Int32Array): Float32Array {
  const size = data.height * data.width * data.channels;
  const out = new Float32Array(indices.length * size);
  indices.forEach((i, r) => out.set(datasetImage(data, i), r * size));
  return out;
}

function agreement(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let hits = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) hits++;
  return a.length > 0 ? hits / a.length : 0;
}
