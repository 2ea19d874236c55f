import type { ModelConfig } from '../config/types';
import { UserError } from '../errors';
import type { Rng } from '../random/rng';
import { ConvGan } from './convGan';
import type { GanModel, ImageShape } from './ganModel';
import { MlpCgan } from './mlpCgan';

/** Whether a model type needs class labels from the data set. */
export function needsLabels(type: ModelConfig['type']): boolean {
  return type === 'cgan' || type === 'cgan-mlp' || type === 'icgan-class';
}

/** Whether a model type is conditioned on instance features (IC-GAN). */
export function needsInstances(type: ModelConfig['type']): boolean {
  return type === 'icgan' || type === 'icgan-class';
}

/**
 * Builds the configured model. `numClasses` is the data set's class count (0 when unlabelled);
 * a conditional model on unlabelled data is the user's mistake, reported as such. `featureDim` is
 * the size of the instance features for IC-GAN models.
 */
export function createModel(
  cfg: ModelConfig,
  image: ImageShape,
  numClasses: number,
  rng: Rng,
  featureDim = 0,
): GanModel {
  if (needsInstances(cfg.type) && featureDim < 1) {
    throw new Error(`model '${cfg.type}' needs the instance features' size`);
  }
  if (needsLabels(cfg.type) && numClasses < 2) {
    throw new UserError(
      numClasses === 0
        ? `model.type '${cfg.type}' needs class labels, but the data set has none (for a folder, put the images in one subfolder per class)`
        : `model.type '${cfg.type}' needs at least 2 classes, but the data set has ${numClasses}`,
    );
  }
  switch (cfg.type) {
    case 'dcgan':
      return new ConvGan('dcgan', cfg, image, 0, 0, rng);
    case 'cgan':
      return new ConvGan('cgan', cfg, image, numClasses, 0, rng);
    case 'icgan':
      return new ConvGan('icgan', cfg, image, 0, featureDim, rng);
    case 'icgan-class':
      return new ConvGan('icgan-class', cfg, image, numClasses, featureDim, rng);
    case 'cgan-mlp':
      return new MlpCgan(cfg.zDim, cfg.mlp, image, numClasses, rng);
  }
}
