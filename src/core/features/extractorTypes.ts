import type { ExtractorInput } from './extractorFile';

/**
 * Instance feature extractors f: h_i = f(x_i), L2-normalised (IC-GAN, papers.md). The neighbour
 * search, the conditioning of G and D and transfer to unseen images all go through this one
 * interface, whichever way the features were made. Every extractor implements it; only the
 * factory (featureExtractor.ts) knows them all.
 */
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
