/**
 * The baseline features: raw pixels, optionally projected on the data's top principal
 * components, L2-normalised. Nothing is learned beyond the PCA, which makes them a fast
 * fallback and the reference the self-supervised features must beat.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TensorRecord } from '../checkpoint/checkpointFile';
import type { ImageDataset } from '../data/dataset';
import { UserError } from '../errors';
import { l2Normalise } from '../neighbours/cosineKnn';
import { Rng } from '../random/rng';
import { readFloats } from '../backend/tensorRead';
import { embedInBatches } from './embedBatches';
import {
  expectDim,
  expectTensors,
  writeExtractorFile,
  type ExtractorFile,
  type ExtractorInput,
} from './extractorFile';
import type { FeatureExtractor, FeatureLog } from './extractorTypes';
import type { PixelSettings } from './featureSettings';
import { fitPca } from './pca';

/** The fitted projection: x ↦ (x − mean) · components. */
interface Projection {
  mean: tf.Tensor1D;
  components: tf.Tensor2D;
  /** Variance along each component and in total, to report how much the PCA keeps. */
  variances: Float32Array;
  totalVariance: number;
}

export async function fitPixelFeatures(
  data: ImageDataset,
  s: PixelSettings,
  log: FeatureLog = () => {},
): Promise<PixelExtractor> {
  const input: ExtractorInput = { height: data.height, width: data.width, channels: data.channels };
  const d = data.height * data.width * data.channels;
  if (s.pcaDim === 0) {
    log(`features: raw pixels, ${d} dimensions`);
    return new PixelExtractor(s, input, null);
  }
  const n = Math.min(s.fitSamples, data.count);
  if (s.pcaDim > Math.min(d, n - 1)) {
    throw new UserError(
      `features.pcaDim: ${s.pcaDim} components need at most min(pixels ${d}, fitting images − 1 = ${n - 1})`,
    );
  }
  const started = performance.now();
  const rng = new Rng(s.seed);
  const sample = fittingSample(data, n, rng);
  const pca = await fitPca(sample, n, d, s.pcaDim, { iterations: s.powerIterations, rng });
  const kept = pca.variances.reduce((a, b) => a + b, 0) / Math.max(pca.totalVariance, 1e-30);
  log(
    `features: PCA of ${d} pixels to ${s.pcaDim} components on ${n} images keeps ` +
      `${(100 * kept).toFixed(1)}% of the variance (${((performance.now() - started) / 1000).toFixed(1)} s)`,
  );
  return new PixelExtractor(s, input, {
    mean: tf.tensor1d(pca.mean),
    components: tf.tensor2d(pca.components, [d, s.pcaDim]),
    variances: Float32Array.from(pca.variances),
    totalVariance: pca.totalVariance,
  });
}

/** A seeded subset of `n` images (all when n = count), in data set order. */
function fittingSample(data: ImageDataset, n: number, rng: Rng): Float32Array {
  const size = data.height * data.width * data.channels;
  if (n === data.count) return data.images.subarray(0, n * size);
  // Partial Fisher–Yates: the first n slots are a uniform sample without replacement.
  const order = Int32Array.from({ length: data.count }, (_, i) => i);
  for (let i = 0; i < n; i++) {
    const j = i + rng.int(data.count - i);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  const picked = order.subarray(0, n).sort();
  const out = new Float32Array(n * size);
  picked.forEach((index, i) => {
    out.set(data.images.subarray(index * size, (index + 1) * size), i * size);
  });
  return out;
}

export class PixelExtractor implements FeatureExtractor {
  readonly kind = 'pixels';
  readonly dim: number;
  private disposed = false;

  constructor(
    readonly settings: PixelSettings,
    readonly input: ExtractorInput,
    private readonly projection: Projection | null,
  ) {
    this.dim = settings.pcaDim || pixelCount(input);
  }

  /** Variance kept per component and in total; null for raw pixels. */
  explainedVariance(): { variances: Float32Array; totalVariance: number } | null {
    const p = this.projection;
    return p && { variances: p.variances.slice(), totalVariance: p.totalVariance };
  }

  async embed(images: Float32Array, n: number): Promise<Float32Array> {
    this.checkAlive();
    const p = this.projection;
    if (p === null) {
      const d = pixelCount(this.input);
      if (images.length !== n * d) {
        throw new RangeError(`embed: expected ${n} images of ${d} values, got ${images.length}`);
      }
      return l2Normalise(images, n, d);
    }
    return embedInBatches(images, n, this.input, this.dim, (x) =>
      tf.matMul(tf.sub(tf.reshape(x, [x.shape[0], -1]), p.mean), p.components),
    );
  }

  async save(dir: string): Promise<void> {
    this.checkAlive();
    const p = this.projection;
    const d = pixelCount(this.input);
    const tensors: TensorRecord[] = p
      ? [
          { name: 'pca.mean', shape: [d], data: await readFloats(p.mean) },
          {
            name: 'pca.components',
            shape: [d, this.dim],
            data: await readFloats(p.components),
          },
          { name: 'pca.variances', shape: [this.dim], data: p.variances },
          { name: 'pca.totalVariance', shape: [1], data: Float32Array.of(p.totalVariance) },
        ]
      : [];
    await writeExtractorFile(
      dir,
      { settings: this.settings, input: this.input, dim: this.dim },
      tensors,
    );
  }

  static fromFile(f: ExtractorFile): PixelExtractor {
    const s = f.meta.settings;
    if (s.kind !== 'pixels') throw new Error(`not a pixel extractor: ${f.file}`);
    const d = pixelCount(f.meta.input);
    const k = s.pcaDim;
    expectDim(f, k || d);
    if (k === 0) {
      expectTensors(f, new Map());
      return new PixelExtractor(s, f.meta.input, null);
    }
    const r = expectTensors(
      f,
      new Map([
        ['pca.mean', [d]],
        ['pca.components', [d, k]],
        ['pca.variances', [k]],
        ['pca.totalVariance', [1]],
      ]),
    );
    const data = (name: string): Float32Array => (r.get(name) as TensorRecord).data;
    return new PixelExtractor(s, f.meta.input, {
      mean: tf.tensor1d(data('pca.mean')),
      components: tf.tensor2d(data('pca.components'), [d, k]),
      variances: data('pca.variances').slice(),
      totalVariance: data('pca.totalVariance')[0] ?? 0,
    });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.projection) tf.dispose([this.projection.mean, this.projection.components]);
  }

  private checkAlive(): void {
    if (this.disposed) throw new Error('the feature extractor has been disposed');
  }
}

function pixelCount(input: ExtractorInput): number {
  return input.height * input.width * input.channels;
}
