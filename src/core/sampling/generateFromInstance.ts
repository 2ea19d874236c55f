import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../checkpoint/atomicWrite';
import type { GenerateOutput } from '../../protocol/runnerCommands';
import { UserError } from '../errors';
import { loadFeatureExtractor, type FeatureExtractor } from '../features/featureExtractor';
import { tileGrid } from '../image/imageGrid';
import { decodeImageFile } from '../image/imageFile';
import { encodePng } from '../image/pngEncode';
import type { InstanceIndex } from '../instances/instanceIndex';
import { INSTANCE_FILES } from '../instances/prepareInstances';
import { knnForQueries } from '../neighbours/cosineKnn';
import { Rng } from '../random/rng';
import { gatherRows, ownConditions } from './conditionArrays';
import {
  applyConditionRequest,
  hasConditionRequest,
  type ConditionRequest,
} from './conditionRequest';
import { generateImages } from './generateImages';
import { loadGenerator, resolveClass, type LoadedGenerator } from './loadGenerator';

/** The conditioning of a generation: an image file (transfer) or a training instance. */
export type InstanceSource = { image: string } | { instance: number };

export interface GenerateOptions extends ConditionRequest {
  source: InstanceSource;
  count: number;
  /** Candidates generated before keeping the `count` most similar (the official demo: 160 → 16). */
  candidates: number;
  className?: string;
  truncation: number;
  seed: number;
  /** Output folder; default: <run>/generated/<time>/. */
  out?: string;
}

/** What the runner sends back for a generation, less what the neighbour search adds. */
export type GenerateResult = Omit<GenerateOutput, 'neighboursStrip' | 'neighbours'>;

interface Conditioning {
  /** The conditioning image at the model's resolution (for the grid's first cell). */
  pixels: Float32Array;
  features: Float32Array;
  nearest: number;
}

async function embedSource(
  gen: LoadedGenerator,
  extractor: FeatureExtractor,
  index: InstanceIndex,
  source: InstanceSource,
  data?: (i: number) => Float32Array,
): Promise<Conditioning> {
  if ('instance' in source) {
    const i = source.instance;
    if (!Number.isInteger(i) || i < 0 || i >= index.count) {
      throw new UserError(`--instance: ${i} is not a training instance (0..${index.count - 1})`);
    }
    const { resolution: r, channels: c } = gen.model.image;
    return {
      pixels: data ? data(i) : new Float32Array(r * r * c),
      features: gatherRows(index.features, index.dim, [i]),
      nearest: i,
    };
  }
  const { height, channels } = extractor.input;
  const pixels = await decodeImageFile(source.image, height, channels, 'cover');
  const features = await extractor.embed(pixels, 1);
  const nearest =
    (await knnForQueries(index.features, index.count, index.dim, features, 1, 1)).indices[0] ?? 0;
  return { pixels, features, nearest };
}

/**
 * Instance transfer (IC-GAN's headline use): embeds an image with the run's own extractor — or
 * takes a training instance's features — generates `candidates` images from them, and keeps the
 * `count` whose features are most similar to the conditioning, as the official demo does. Writes
 * each image and a grid whose first cell is the conditioning image.
 */
export async function generateFromInstance(
  runDir: string,
  opts: GenerateOptions,
  trainingImage?: (i: number) => Float32Array,
): Promise<GenerateResult> {
  const gen = loadGenerator(runDir);
  const extractor = await loadFeatureExtractor(path.join(runDir, INSTANCE_FILES.extractor)).catch(
    (err: unknown) => {
      gen.dispose();
      throw err;
    },
  );
  try {
    const index = gen.instances;
    if (!index || gen.model.featureDim === 0) {
      throw new UserError(
        `${runDir}: generation from an image needs an IC-GAN run (model '${gen.meta.modelType}')`,
      );
    }
    const cond = await embedSource(gen, extractor, index, opts.source, trainingImage);
    const n = Math.max(opts.candidates, opts.count);
    let label: number | undefined;
    if (gen.model.numClasses > 0) {
      label =
        opts.className !== undefined
          ? resolveClass(gen.meta, opts.className)
          : (index.labels?.[cond.nearest] ?? 0);
    } else if (opts.className !== undefined) {
      throw new UserError(
        `--class: this run's model (${gen.meta.modelType}) is not class-conditional`,
      );
    }
    // A tags- or vector-conditioned run: the nearest instance's own y, unless swapped or added to.
    let vectors: Float32Array | null = null;
    if (gen.model.conditionDim > 0) {
      const own = ownConditions(gen.model, index, new Int32Array(n).fill(cond.nearest)).vectors;
      if (!own) throw new UserError(`${runDir}: the run's instance index has no tags or vectors`);
      vectors = applyConditionRequest(gen.meta, own, n, opts);
    } else if (hasConditionRequest(opts)) {
      applyConditionRequest(gen.meta, new Float32Array(0), 0, opts); // throws the flag's error
    }
    const rng = new Rng(opts.seed);
    const repeated = new Float32Array(n * index.dim);
    for (let i = 0; i < n; i++) repeated.set(cond.features, i * index.dim);
    const images = await generateImages(
      gen.model,
      gen.model.generatorParams,
      gen.stats,
      rng.normals(n * gen.model.zDim, opts.truncation),
      {
        instances: repeated,
        labels: label !== undefined ? new Int32Array(n).fill(label) : null,
        vectors,
      },
    );
    const ranked = rankBySimilarity(
      await extractor.embed(images.pixels, n),
      cond.features,
      index.dim,
    ).slice(0, opts.count);
    const { resolution: r, channels: c } = gen.model.image;
    const size = r * r * c;
    const outDir = path.resolve(
      opts.out ?? path.join(runDir, 'generated', new Date().toISOString().replace(/[:.]/g, '-')),
    );
    await fs.promises.mkdir(outDir, { recursive: true });
    const files: string[] = [];
    const cells = new Float32Array((ranked.length + 1) * size);
    cells.set(resizeForGrid(cond.pixels, extractor.input.height, r, c), 0);
    for (const [k, { i }] of ranked.entries()) {
      const px = images.pixels.subarray(i * size, (i + 1) * size);
      cells.set(px, (k + 1) * size);
      const file = path.join(outDir, `sample-${String(k).padStart(3, '0')}.png`);
      await writeFileAtomic(file, await encodePng(px, r, r, c));
      files.push(file);
    }
    const columns = Math.ceil(Math.sqrt(ranked.length + 1));
    const grid = tileGrid(cells, ranked.length + 1, r, r, c, columns);
    const gridFile = path.join(outDir, 'grid.png');
    await writeFileAtomic(gridFile, await encodePng(grid.pixels, grid.height, grid.width, c));
    const names = gen.meta.classNames;
    return {
      outDir,
      grid: gridFile,
      files,
      similarities: ranked.map((x) => x.similarity),
      ...(label !== undefined ? { className: names?.[label] ?? String(label) } : {}),
      ...('image' in opts.source ? { nearestInstance: cond.nearest } : {}),
    };
  } finally {
    extractor.dispose();
    gen.dispose();
  }
}

/** Candidates by cosine similarity to `target` (features are unit-norm), most similar first. */
function rankBySimilarity(
  features: Float32Array,
  target: Float32Array,
  d: number,
): { i: number; similarity: number }[] {
  const n = features.length / d;
  const out: { i: number; similarity: number }[] = [];
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let c = 0; c < d; c++) s += (features[i * d + c] as number) * (target[c] as number);
    out.push({ i, similarity: s });
  }
  return out.sort((a, b) => b.similarity - a.similarity || a.i - b.i);
}

/** The extractor's input is the data resolution, so this is normally a copy; else a nearest-pixel resize. */
function resizeForGrid(pixels: Float32Array, from: number, to: number, c: number): Float32Array {
  if (from === to) return pixels;
  const out = new Float32Array(to * to * c);
  for (let y = 0; y < to; y++) {
    for (let x = 0; x < to; x++) {
      const sy = Math.min(from - 1, Math.floor(((y + 0.5) * from) / to));
      const sx = Math.min(from - 1, Math.floor(((x + 0.5) * from) / to));
      for (let k = 0; k < c; k++)
        out[(y * to + x) * c + k] = pixels[(sy * from + sx) * c + k] as number;
    }
  }
  return out;
}
