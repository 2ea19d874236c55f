/**
 * Instance feature extractors f: h_i = f(x_i), L2-normalised (IC-GAN, papers.md). The neighbour
 * search, the conditioning of G and D and transfer to unseen images all go through this one
 * interface, whichever way the features were made.
 */
import type { ImageDataset } from '../data/dataset';
import { ContrastiveExtractor, trainContrastiveEncoder } from './contrastiveEncoder';
import { readExtractorFile, type ExtractorInput } from './extractorFile';
import type { FeatureSettings } from './featureSettings';
import { fitModelFeatures, ModelExtractor } from './modelFeatures';
import { fitPixelFeatures, PixelExtractor } from './pixelFeatures';

export type { ExtractorInput } from './extractorFile';

export interface FeatureExtractor {
  readonly kind: 'selfsupervised' | 'pixels' | 'model';
  readonly dim: number;
  /** The image shape `embed` takes: unseen images must be resized to it first. */
  readonly input: ExtractorInput;
  /** L2-normalised features, n × dim, of images NHWC in [-1,1] at the extractor's resolution/channels. */
  embed(images: Float32Array, n: number): Promise<Float32Array>;
  /** Writes everything needed to embed an unseen image later (weights + settings) into `dir`. */
  save(dir: string): Promise<void>;
  dispose(): void;
}

/** Progress lines for a log or a terminal. */
export type FeatureLog = (line: string) => void;

/**
 * Learns (selfsupervised) or fits (pixels) an extractor on `data`, or loads the user's model
 * (model: only the data's image shape is used).
 */
export async function fitFeatureExtractor(
  data: ImageDataset,
  settings: FeatureSettings,
  log: FeatureLog = () => {},
): Promise<FeatureExtractor> {
  switch (settings.kind) {
    case 'selfsupervised':
      return trainContrastiveEncoder(data, settings, log);
    case 'pixels':
      return fitPixelFeatures(data, settings, log);
    case 'model':
      return fitModelFeatures(data, settings, log);
  }
}

/**
 * Rebuilds an extractor saved by `save(dir)`. The file's checksum, format, settings and every
 * tensor's shape are checked first; any mismatch is a UserError naming the file.
 */
export async function loadFeatureExtractor(dir: string): Promise<FeatureExtractor> {
  const f = await readExtractorFile(dir);
  switch (f.meta.settings.kind) {
    case 'selfsupervised':
      return ContrastiveExtractor.fromFile(f);
    case 'pixels':
      return PixelExtractor.fromFile(f);
    case 'model':
      return ModelExtractor.fromFile(f);
  }
}
