/**
 * The resolved training configuration. `schemas/icgan.schema.json` is the source of truth for
 * what a `*.icgan.json` file may contain; these types mirror it after defaults are applied.
 */

export type BackendChoice = 'auto' | 'tfjs-node-gpu' | 'tfjs-node' | 'webgpu' | 'wasm' | 'cpu';

export interface ShapesDataConfig {
  source: 'shapes';
  /** Number of images generated. */
  count: number;
  /** Side of the square images, in pixels. */
  resolution: number;
  /** Seed of the procedural generator; the same seed gives the same images. */
  seed: number;
}

export interface FolderDataConfig {
  source: 'folder';
  /** Absolute path (resolved against the config file's folder). */
  path: string;
  resolution: number;
  channels: 1 | 3;
  /** How images that are not square are brought to resolution×resolution. */
  fit: 'cover' | 'contain' | 'fill';
  /** Use at most this many images (after sorting by path); 0 = all. */
  limit: number;
  /** Absolute path of a sidecar of per-image tags/vectors, when given. */
  sidecar?: string;
}

export interface IdxDataConfig {
  source: 'idx';
  /** Absolute path of the images IDX file (raw or gzipped). */
  images: string;
  /** Absolute path of the labels IDX file, or null for an unlabelled set. */
  labels: string | null;
  resolution: number;
  /** Use the first `limit` images; 0 = all. */
  limit: number;
  /** Names of the label values 0..C-1, or null to name them by number. */
  classNames: string[] | null;
  /**
   * 3: random triples of images as RGB channels (stacked MNIST); 1: the images as they are
   * (absent in runs from before it existed).
   */
  stack?: 1 | 3;
  /** Seed of the stacked draw (absent in runs from before data.stack). */
  seed?: number;
}

export type DataConfig = ShapesDataConfig | FolderDataConfig | IdxDataConfig;

export type ModelType = 'dcgan' | 'cgan-mlp' | 'cgan' | 'icgan' | 'icgan-class';

/** What a conditional model's y is: a class label, the image's tags (multi-hot) or its vector. */
export type ConditionKind = 'class' | 'tags' | 'vector';

/** Layer sizes of the MLP cGAN of Mirza & Osindero (2014); the defaults are the paper's. */
export interface MlpConfig {
  zHidden: number;
  yHidden: number;
  jointHidden: number;
  dxUnits: number;
  dyUnits: number;
  dJointUnits: number;
}

export interface ModelConfig {
  type: ModelType;
  zDim: number;
  gWidth: number;
  dWidth: number;
  embedDim: number;
  /** What y is for cgan, cgan-mlp and icgan-class; ignored by dcgan and icgan. */
  condition: ConditionKind;
  /** condition 'tags': probability that a tag is left out of y in training. */
  tagDropout: number;
  /**
   * Convolutional models: D's normalisation (default 'spectral'); 'auto', the default before
   * 2026-12-06 that older runs record, = 'batch' for dcgan, 'spectral' for the conditional models.
   */
  dNorm: 'auto' | 'batch' | 'spectral';
  /** Convolutional models: minibatch-stddev feature in D (default on); 'auto' as for dNorm. */
  dMinibatchStd: 'auto' | boolean;
  /** dcgan: images per discriminator pack (PacGAN); absent in runs from before it (1). */
  pack?: number;
  /**
   * Images per minibatch-std group, drawn sharing a condition; 0 = the whole batch (and runs from
   * before it).
   */
  groupSize?: number;
  /**
   * Convolutional models that take a class label: weight of AC-GAN's auxiliary classification
   * loss (a class head on D trained on real images; G rewarded for fakes classified as asked).
   * 0 = no head; absent in runs from before it (0).
   */
  auxClassifier?: number;
  mlp: MlpConfig;
}

export type LossType = 'nonsaturating' | 'hinge';

/** training.augment: DiffAugment's policies, applied to every image D sees. */
export interface AugmentConfig {
  /** Largest shift, as a fraction of the side (0: none). */
  translation: number;
  /** Side of the square blanked out, as a fraction of the image side (0: none). */
  cutout: number;
  /** Random brightness, saturation and contrast. */
  colour: boolean;
}

export interface TrainingConfig {
  steps: number;
  batchSize: number;
  loss: LossType;
  gLr: number;
  dLr: number;
  beta1: number;
  beta2: number;
  dStepsPerG: number;
  /** The last fraction of the run over which gLr and dLr fall linearly to 0 (0: constant). */
  lrDecay: number;
  emaDecay: number;
  logEvery: number;
  /** Loss magnitude treated as divergence. */
  divergenceLoss: number;
  /** Absent in runs from before it existed (no augmentation). */
  augment?: AugmentConfig;
}

export interface SamplesConfig {
  every: number;
  count: number;
  truncation: number;
}

export interface CheckpointsConfig {
  every: number;
  keep: number;
}

/**
 * Instance conditioning. `features` is passed to resolveFeatureSettings (src/core/features), which
 * owns the extractors' defaults; the schema only checks names and ranges.
 */
export interface InstancesConfig {
  k: number;
  representatives: number;
  galleryEvery: number;
  gallerySamples: number;
  features: Record<string, unknown>;
}

/** Image → tags: the tagging cGAN and how suggestions are read off (src/core/tagging). */
export interface TaggingConfig {
  embedding: 'onehot' | 'skipgram';
  embedDim: number;
  steps: number;
  batchSize: number;
  pack: number;
  zDim: number;
  hidden: number;
  learningRate: number;
  samples: number;
  nearestPerSample: number;
  seed: number;
}

/** A config after validation, defaults and path resolution: what a run stores as config.json. */
export interface TrainConfig {
  /** Absolute path of the *.icgan.json it came from. */
  configPath: string;
  name: string;
  seed: number;
  backend: BackendChoice;
  data: DataConfig;
  model: ModelConfig;
  training: TrainingConfig;
  samples: SamplesConfig;
  checkpoints: CheckpointsConfig;
  instances: InstancesConfig;
  tagging: TaggingConfig;
  /** Absolute path. */
  runsDir: string;
}
