/**
 * Fitting and loading an instance feature extractor (see extractorTypes.ts): the one file that
 * knows every kind. The kinds import only the interface, so the module's imports form a tree.
 */
import type { ImageDataset } from '../data/dataset';
import { ContrastiveExtractor, trainContrastiveEncoder } from './contrastiveEncoder';
import { readExtractorFile } from './extractorFile';
import type { FeatureExtractor, FeatureLog } from './extractorTypes';
import type { FeatureSettings } from './featureSettings';
import { fitModelFeatures, ModelExtractor } from './modelFeatures';
import { fitPixelFeatures, PixelExtractor } from './pixelFeatures';

// The features module's door: callers outside it import the extractor type from here.
export type { ExtractorInput } from './extractorFile';
export type { FeatureExtractor, FeatureLog } from './extractorTypes';

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
