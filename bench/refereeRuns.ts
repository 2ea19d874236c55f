/**
 * What the referee commands share: building the judge for a run's data, drawing samples from an
 * engine run or reading a mirror's sample file, and the table. See bench/referee.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DataConfig, ShapesDataConfig } from '../src/core/config/types';
import type { ImageDataset } from '../src/core/data/dataset';
import { loadDataset } from '../src/core/data/loadDataset';
import { createShapesDatasetWithAttributes } from '../src/core/data/shapesDataset';
import {
  SampleJudge,
  type JudgedAttribute,
  type SampleVerdict,
} from '../src/core/metrics/sampleJudge';
import { Rng } from '../src/core/random/rng';
import { loadFeatureExtractor } from '../src/core/features/featureExtractor';
import { INSTANCE_FILES } from '../src/core/instances/prepareInstances';
import { datasetImage, loadRunDataset } from '../src/core/instances/runDataset';
import { pixelSpread } from '../src/core/metrics/sampleSpread';
import { knnForQueries } from '../src/core/neighbours/cosineKnn';
import { ownConditions } from '../src/core/sampling/conditionArrays';
import { generateImages } from '../src/core/sampling/generateImages';
import { loadGenerator } from '../src/core/sampling/loadGenerator';

export interface Judge {
  judge: SampleJudge;
  /** The held-out real images (labelled), unseen by the runs being judged. */
  heldOut: ImageDataset;
  description: string;
  attribute: string | null;
}

export interface Row {
  name: string;
  step: number;
  verdict: SampleVerdict;
}

/** The judge for a data config: trained on that data, calibrated on held-out images. */
export async function judgeFor(data: DataConfig, samples: number, seed: number): Promise<Judge> {
  if (data.source === 'shapes') {
    const train = createShapesDatasetWithAttributes(data);
    const held = heldOutShapes(data, samples);
    const attribute: JudgedAttribute = {
      name: 'colour',
      values: train.attributeNames.colour,
      train: Int32Array.from(train.attributes, (a) => a.colour),
      heldOut: Int32Array.from(held.attributes, (a) => a.colour),
    };
    const judge = await SampleJudge.train(
      train.dataset,
      held.dataset,
      { samples, seed },
      attribute,
    );
    return {
      judge,
      heldOut: held.dataset,
      description: `shapes seed ${data.seed} (${data.count}) vs held-out seed ${data.seed + 1000}`,
      attribute: 'colour',
    };
  }
  if (data.source === 'idx') {
    const train = await loadDataset(data, () => undefined);
    const heldOut = await heldOutSet(data, samples);
    return {
      judge: await SampleJudge.train(train, heldOut, { samples, seed }),
      heldOut,
      description: `${path.basename(data.images)} (${train.count}) vs its t10k set`,
      attribute: null,
    };
  }
  throw new Error(`the referee handles shapes and idx data, not '${data.source}'`);
}

function heldOutShapes(data: ShapesDataConfig, count: number) {
  return createShapesDatasetWithAttributes({ ...data, count, seed: data.seed + 1000 });
}

/**
 * `count` labelled images the training data does not hold: shapes drawn with another seed, or an
 * IDX training file's t10k sibling.
 */
export async function heldOutSet(data: DataConfig, count: number): Promise<ImageDataset> {
  if (data.source === 'shapes') return heldOutShapes(data, count).dataset;
  if (data.source === 'idx') {
    return loadDataset(
      {
        ...data,
        images: data.images.replace('train-images', 't10k-images'),
        labels: data.labels?.replace('train-labels', 't10k-labels') ?? null,
        limit: count,
      },
      () => undefined,
    );
  }
  throw new Error(`held-out images exist for shapes and idx data, not '${data.source}'`);
}

/** Samples of a run's EMA generator (newest checkpoint at or before `step`), judged. */
export async function judgeGenerator(
  judge: Judge,
  runDir: string,
  samples: number,
  seed: number,
  step = Infinity,
  weights: 'ema' | 'raw' = 'ema',
): Promise<Row> {
  const gen = loadGenerator(runDir, () => undefined, step, weights);
  try {
    const { model } = gen;
    const rng = new Rng(seed + 11);
    const requested =
      model.numClasses > 0
        ? Int32Array.from({ length: samples }, (_, i) => i % model.numClasses)
        : null;
    const images = await generateImages(
      model,
      model.generatorParams,
      gen.stats,
      rng.normals(samples * model.zDim),
      {
        labels: requested,
      },
    );
    return {
      name: path.basename(runDir) + (weights === 'raw' ? ' (raw G)' : ''),
      step: gen.meta.step,
      verdict: await judge.judge.judge(images.pixels, samples, requested),
    };
  } finally {
    gen.dispose();
  }
}

/**
 * A mirror's samples: `samples.json` ({n, side, channels, step, labels}) and `samples.f32`
 * (n × side × side × channels floats in [-1, 1], NHWC).
 */
export async function judgeSampleFile(judge: Judge, dir: string): Promise<Row> {
  const meta = JSON.parse(fs.readFileSync(path.join(dir, 'samples.json'), 'utf8')) as {
    n: number;
    side: number;
    channels: number;
    step: number;
    labels: number[] | null;
    name?: string;
  };
  const buf = fs.readFileSync(path.join(dir, 'samples.f32'));
  const pixels = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  if (pixels.length !== meta.n * meta.side * meta.side * meta.channels) {
    throw new Error(
      `${dir}/samples.f32: expected ${meta.n} images of ${meta.side}² × ${meta.channels}`,
    );
  }
  return {
    name: meta.name ?? path.basename(dir),
    step: meta.step,
    verdict: await judge.judge.judge(
      Float32Array.from(pixels),
      meta.n,
      meta.labels ? Int32Array.from(meta.labels) : null,
    ),
  };
}

const pct = (v: number | null): string => (v === null ? '–' : `${(100 * v).toFixed(1)} %`);

export function formatVerdicts(judge: Judge, rows: Row[]): string[] {
  const c = judge.judge.calibration;
  const lines = [
    `Referee: ${judge.description}; classifier ${pct(c.classifierAccuracy)} right on held-out real images` +
      (c.attributeAccuracy !== null ? `, ${judge.attribute} ${pct(c.attributeAccuracy)}` : '') +
      `; real images blank ${pct(c.realBlank)}; real vs real FD ${c.realAgainstReal.frechet.toFixed(2)}` +
      (c.realAttributeValuesPerClass
        ? `, ${judge.attribute}s per class ${c.realAttributeValuesPerClass.join('/')}`
        : ''),
    '',
    `| samples | step | right class | blank | ${judge.attribute ?? 'attribute'}s per class | FD ↓ | precision | recall | density | coverage |`,
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const { name, step, verdict: v } of rows) {
    lines.push(
      `| ${name} | ${step} | ${pct(v.classAccuracy)} | ${pct(v.blank)} | ${v.attributeValuesPerClass?.join('/') ?? '–'} | ${v.frechet.toFixed(2)} | ${v.precision.toFixed(3)} | ${v.recall.toFixed(3)} | ${v.density.toFixed(3)} | ${v.coverage.toFixed(3)} |`,
    );
  }
  return lines;
}

export interface TransferVerdict {
  name: string;
  step: number;
  images: number;
  /** Share of samples generated from an unseen image that are of that image's class. */
  rightClass: number;
  /**
   * Share of those images' k nearest training instances (by the run's features) that are of the
   * image's class: the class fidelity the neighbourhoods the generator learned from can carry.
   */
  neighbourClass: number;
  /** Median over images of (spread of its samples) / (spread of its k nearest training images). */
  spreadRatio: number;
  /** The same ratio for the run's representative training instances and their neighbourhoods. */
  instanceSpreadRatio: number;
}

/**
 * IC-GAN transfer, judged: `images` unseen labelled images (the held-out set) are embedded with
 * the run's own extractor, `perImage` samples are generated from each, and the referee's
 * classifier says how often they are of the unseen image's class; the samples' pixel spread is
 * compared with that of the image's nearest training instances (its neighbourhood A_i).
 */
export async function judgeTransfer(
  judge: Judge,
  runDir: string,
  heldOut: ImageDataset,
  images: number,
  perImage: number,
  seed: number,
): Promise<TransferVerdict> {
  const gen = loadGenerator(runDir);
  const extractor = await loadFeatureExtractor(path.join(runDir, INSTANCE_FILES.extractor));
  try {
    const index = gen.instances;
    if (!index) throw new Error(`${runDir} is not an IC-GAN run`);
    const train = await loadRunDataset(runDir, index.count);
    const size = heldOut.height * heldOut.width * heldOut.channels;
    if (
      extractor.input.height !== heldOut.height ||
      extractor.input.channels !== heldOut.channels
    ) {
      throw new Error('the extractor takes another image shape than the data');
    }
    const rng = new Rng(seed + 21);
    let right = 0;
    let neighboursRight = 0;
    const ratios: number[] = [];
    const spreadOf = (rows: ArrayLike<number>): number => {
      const px = new Float32Array(rows.length * size);
      Array.from(rows).forEach((j, r) => px.set(datasetImage(train, j), r * size));
      return pixelSpread(px, rows.length);
    };
    const generate = async (features: Float32Array, nearest: number): Promise<Float32Array> => {
      const rows = new Int32Array(perImage).fill(nearest);
      const h = new Float32Array(perImage * index.dim);
      for (let j = 0; j < perImage; j++) h.set(features, j * index.dim);
      const generated = await generateImages(
        gen.model,
        gen.model.generatorParams,
        gen.stats,
        rng.normals(perImage * gen.model.zDim),
        {
          instances: h,
          ...ownConditions(gen.model, index, rows),
        },
      );
      return generated.pixels;
    };
    for (let i = 0; i < images; i++) {
      const pixels = heldOut.images.subarray(i * size, (i + 1) * size);
      const features = await extractor.embed(pixels, 1);
      const nn = await knnForQueries(index.features, index.count, index.dim, features, 1, index.k);
      const samples = await generate(features, nn.indices[0] ?? 0);
      const truth = heldOut.labels?.[i] ?? -1;
      for (const c of await judge.judge.classify(samples, perImage)) if (c === truth) right++;
      for (const j of nn.indices) if (train.labels?.[j] === truth) neighboursRight++;
      ratios.push(pixelSpread(samples, perImage) / spreadOf(nn.indices));
    }
    const own: number[] = [];
    for (const r of index.representatives) {
      const samples = await generate(
        index.features.subarray(r * index.dim, (r + 1) * index.dim),
        r,
      );
      own.push(
        pixelSpread(samples, perImage) /
          spreadOf([r, ...index.neighbours.subarray(r * index.k, (r + 1) * index.k)]),
      );
    }
    return {
      name: path.basename(runDir),
      step: gen.meta.step,
      images,
      rightClass: right / (images * perImage),
      neighbourClass: neighboursRight / (images * index.k),
      spreadRatio: medianOf(ratios),
      instanceSpreadRatio: medianOf(own),
    };
  } finally {
    extractor.dispose();
    gen.dispose();
  }
}

function medianOf(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s.length ? s[s.length >> 1]! : NaN;
}

export function formatTransfer(rows: TransferVerdict[]): string[] {
  return [
    "| run | step | unseen images | samples of the image's class | its k nearest training images of its class | spread / neighbours' spread (unseen) | (training instances) |",
    '|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.name} | ${r.step} | ${r.images} | ${pct(r.rightClass)} | ${pct(r.neighbourClass)} | ${r.spreadRatio.toFixed(2)} | ${r.instanceSpreadRatio.toFixed(2)} |`,
    ),
  ];
}
