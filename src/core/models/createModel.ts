import type { ModelConfig } from '../config/types';
import { UserError } from '../errors';
import type { Rng } from '../random/rng';
import { ConvGan } from './convGan';
import type { GanModel, ImageShape } from './ganModel';
import { MlpCgan } from './mlpCgan';
import { needsConditionVectors, needsInstances, needsLabels } from './modelCapabilities';

/**
 * Builds the configured model. `numClasses` is the data set's class count (0 when unlabelled);
 * a conditional model on unlabelled data is the user's mistake, reported as such. `featureDim` is
 * the size of the instance features for IC-GAN models; `conditionDim` the size of y for models
 * conditioned on tags or vectors.
 */
export function createModel(
  cfg: ModelConfig,
  image: ImageShape,
  numClasses: number,
  rng: Rng,
  featureDim = 0,
  conditionDim = 0,
): GanModel {
  if (needsInstances(cfg.type) && featureDim < 1) {
    throw new Error(`model '${cfg.type}' needs the instance features' size`);
  }
  if (needsConditionVectors(cfg)) {
    if (conditionDim < 1) {
      throw new UserError(
        `model.condition '${cfg.condition}': the data set has no ${cfg.condition === 'tags' ? 'tags' : 'vectors'} (check data.sidecar)`,
      );
    }
    // The dense y takes the place of the one-hot class: same parameters, y's size for the classes.
    return buildModel(cfg, image, 0, rng, featureDim, conditionDim);
  }
  if (needsLabels(cfg) && numClasses < 2) {
    throw new UserError(
      numClasses === 0
        ? `model.type '${cfg.type}' needs class labels, but the data set has none (for a folder, put the images in one subfolder per class)`
        : `model.type '${cfg.type}' needs at least 2 classes, but the data set has ${numClasses}`,
    );
  }
  return buildModel(cfg, image, numClasses, rng, featureDim, 0);
}

function buildModel(
  cfg: ModelConfig,
  image: ImageShape,
  numClasses: number,
  rng: Rng,
  featureDim: number,
  conditionDim: number,
): GanModel {
  const y = { numClasses, conditionDim };
  switch (cfg.type) {
    case 'dcgan':
      return new ConvGan('dcgan', cfg, image, { numClasses: 0, conditionDim: 0 }, 0, rng);
    case 'cgan':
      return new ConvGan('cgan', cfg, image, y, 0, rng);
    case 'icgan':
      return new ConvGan('icgan', cfg, image, { numClasses: 0, conditionDim: 0 }, featureDim, rng);
    case 'icgan-class':
      return new ConvGan('icgan-class', cfg, image, y, featureDim, rng);
    case 'cgan-mlp':
      return new MlpCgan(cfg.zDim, cfg.mlp, image, y, rng);
  }
}
