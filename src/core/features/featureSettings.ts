/**
 * Settings of the instance feature extractors f (IC-GAN's h_i = f(x_i)), their defaults and
 * their validation. Every field that changes the features is here, so hashing a resolved
 * settings object (featureCache.ts) is enough to tell whether cached features still apply.
 */
import * as path from 'node:path';
import { UserError } from '../errors';
// modelFeatures.ts reaches back here through extractorFile.ts; the cycle is safe because only
// functions cross it, called after every module has loaded.
import { modelFilesHash } from './modelFiles';

/** Input augmentations of the self-supervised views (SimCLR, Chen et al. 2020). */
export interface AugmentSettings {
  /**
   * Area of the random crop as a fraction of the image, drawn uniformly in [min, max]. Above 1
   * the view zooms out: the image lies whole inside it, the border filled by reflection.
   */
  cropScaleMin: number;
  cropScaleMax: number;
  /** The crop's aspect ratio is drawn log-uniformly in [1/maxAspect, maxAspect] (≤ 2). */
  cropMaxAspect: number;
  flipProbability: number;
  /** Probability that a view gets colour jitter at all (SimCLR: 0.8). */
  jitterProbability: number;
  /** Jitter strengths: factors are drawn uniformly in [1 − s, 1 + s]. */
  brightness: number;
  contrast: number;
  saturation: number;
  /** Hue rotation, drawn uniformly in [−hue, hue] turns (0.5 = half the colour wheel). */
  hue: number;
  greyscaleProbability: number;
}

export interface SelfSupervisedSettings {
  kind: 'selfsupervised';
  /**
   * Side of the square images the encoder sees: images are area-averaged (and if need be
   * bilinearly resized) to it before augmentation and embedding; 0 keeps the data's size. Cost
   * grows with its square, and the default is what a 2-core CPU trains in well under a minute.
   */
  inputSize: number;
  /** Length of the representation h (channels of the last conv block). */
  dim: number;
  /** Channels of the first conv block; each further block doubles them. */
  width: number;
  /** Stride-2 conv blocks (each halves the resolution) before the global average pool. */
  blocks: number;
  /** Output of the projection head, used only by the loss. */
  projectionDim: number;
  steps: number;
  /** Images per step; each contributes two views. */
  batchSize: number;
  learningRate: number;
  /** NT-Xent temperature τ. */
  temperature: number;
  seed: number;
  augment: AugmentSettings;
}

export interface PixelSettings {
  kind: 'pixels';
  /** Principal components kept; 0 keeps the raw pixels. */
  pcaDim: number;
  /** Subspace iterations of the randomized PCA. */
  powerIterations: number;
  /** At most this many images (a seeded random subset) fit the PCA. */
  fitSamples: number;
  seed: number;
}

/** The value range a user model was trained on; the data's [-1, 1] is mapped onto it. */
export type InputRange = '[-1,1]' | '[0,1]' | '[0,255]';
export const INPUT_RANGES: readonly InputRange[] = ['[-1,1]', '[0,1]', '[0,255]'];

/** A user-supplied TF.js model read at one layer (modelFeatures.ts). */
export interface ModelSettings {
  kind: 'model';
  /**
   * model.json (or the folder holding it), absolute: a config's relative path must be resolved
   * against the config's folder before resolveFeatureSettings, which would use the working folder.
   */
  path: string;
  /** Layer name (layers model) or node name, optionally `name:k` (graph model). */
  layer: string;
  inputRange: InputRange;
  /** Per-channel (or one shared) mean and std, applied after the range: (x − mean) / std. */
  mean: number[] | null;
  std: number[] | null;
  /** Side of the square images fed to the model; 0 = the model's own fixed input size. */
  inputSize: number;
  /** How a spatial (≥ 3-D) output becomes a row: averaged over space, or flattened. */
  pooling: 'avg' | 'flatten';
  /**
   * SHA-256 over model.json and the weight files, computed when the settings are resolved: the
   * model's content, not its path, is what changes the features and thus the cache key.
   */
  modelHash: string;
}

export type FeatureSettings = SelfSupervisedSettings | PixelSettings | ModelSettings;
export type FeatureKind = FeatureSettings['kind'];

/** What a user or config may give: any subset, the kind defaulting to 'selfsupervised'. */
export type FeatureSettingsInput =
  | ({ kind?: 'selfsupervised' } & Partial<Omit<SelfSupervisedSettings, 'kind' | 'augment'>> & {
        augment?: Partial<AugmentSettings>;
      })
  | ({ kind: 'pixels' } & Partial<Omit<PixelSettings, 'kind'>>)
  | ({ kind: 'model' } & Partial<Omit<ModelSettings, 'kind'>>);

/**
 * With these bounds a zoomed-out view reaches at most one image side beyond the image, which
 * one reflection of the image covers (augment.ts).
 */
export const MAX_CROP_SCALE = 2;

/**
 * SimCLR's colour distortion at strength 1 with the hue free over the whole wheel, and gentle
 * crops that may also zoom out. Measured on 1,024 shapes (32×32, 5-NN shape agreement, one
 * seed each, ±0.02 between seeds): SimCLR's crops of 30–100 % of the area gave 0.29–0.39
 * within the time budget — most views lose the object, and the short training learns colour
 * and size instead — against 0.44 for 80–100 % and 0.46–0.48 for 80–150 %.
 */
export const DEFAULT_AUGMENT: Readonly<AugmentSettings> = {
  cropScaleMin: 0.8,
  cropScaleMax: 1.5,
  cropMaxAspect: 1,
  flipProbability: 0.5,
  jitterProbability: 0.8,
  brightness: 0.8,
  contrast: 0.8,
  saturation: 0.8,
  hue: 0.5,
  greyscaleProbability: 0.2,
};

/**
 * Sized for a 2-core CPU on the WASM backend: at a 16×16 working size a step takes about
 * 50 ms, so the default run takes about half a minute whatever the data set size. On 32×32
 * shapes 800 steps gained at most 0.03 in 5-NN shape agreement over 600; a 32×32 working size
 * costs 4× a step and did worse at an equal time.
 */
export const DEFAULT_SELF_SUPERVISED: Readonly<Omit<SelfSupervisedSettings, 'augment'>> = {
  kind: 'selfsupervised',
  inputSize: 16,
  dim: 128,
  width: 16,
  blocks: 3,
  projectionDim: 64,
  steps: 600,
  batchSize: 64,
  learningRate: 2e-3,
  temperature: 0.2,
  seed: 0,
};

export const DEFAULT_PIXELS: Readonly<PixelSettings> = {
  kind: 'pixels',
  pcaDim: 0,
  powerIterations: 4,
  fitSamples: 4096,
  seed: 0,
};

export const DEFAULT_MODEL: Readonly<Omit<ModelSettings, 'path' | 'layer' | 'modelHash'>> = {
  kind: 'model',
  inputRange: '[0,1]',
  mean: null,
  std: null,
  inputSize: 0,
  pooling: 'avg',
};

/**
 * Fills in defaults and checks every field; errors name the setting as `features.<key>`. For a
 * model, reads its files to hash them unless `modelHash` is already given (settings resolved
 * before, e.g. those a saved extractor records), so resolving twice reads nothing twice.
 */
export function resolveFeatureSettings(input: FeatureSettingsInput = {}): FeatureSettings {
  if (input.kind === 'model') return resolveModelSettings(input);
  if (input.kind === 'pixels') {
    const s: PixelSettings = { ...DEFAULT_PIXELS, ...definedOnly(input), kind: 'pixels' };
    integer('pcaDim', s.pcaDim, 0);
    integer('powerIterations', s.powerIterations, 0);
    integer('fitSamples', s.fitSamples, 2);
    integer('seed', s.seed, 0);
    return s;
  }
  const kind: unknown = input.kind ?? 'selfsupervised';
  if (kind !== 'selfsupervised') {
    throw new UserError(
      `features.kind: expected 'selfsupervised', 'pixels' or 'model', got ${JSON.stringify(kind)}`,
    );
  }
  const { augment, ...rest } = input;
  const s: SelfSupervisedSettings = {
    ...DEFAULT_SELF_SUPERVISED,
    ...definedOnly(rest),
    kind: 'selfsupervised',
    augment: { ...DEFAULT_AUGMENT, ...definedOnly(augment ?? {}) },
  };
  integer('inputSize', s.inputSize, 0);
  integer('dim', s.dim, 1);
  integer('width', s.width, 1);
  integer('blocks', s.blocks, 1);
  integer('projectionDim', s.projectionDim, 1);
  integer('steps', s.steps, 0);
  integer('batchSize', s.batchSize, 2);
  positive('learningRate', s.learningRate);
  positive('temperature', s.temperature);
  integer('seed', s.seed, 0);
  checkAugment(s.augment);
  return s;
}

function resolveModelSettings(
  input: { kind: 'model' } & Partial<Omit<ModelSettings, 'kind'>>,
): ModelSettings {
  const given: Partial<ModelSettings> = definedOnly(input);
  if (typeof given.path !== 'string' || given.path === '') {
    throw new UserError('features.path: required for kind "model": a model.json or its folder');
  }
  if (typeof given.layer !== 'string' || given.layer === '') {
    throw new UserError(
      'features.layer: required for kind "model": the layer (layers model) or node (graph model) to read',
    );
  }
  const s = {
    ...DEFAULT_MODEL,
    ...given,
    kind: 'model' as const,
    path: path.resolve(given.path),
    layer: given.layer,
  };
  if (!INPUT_RANGES.includes(s.inputRange)) {
    throw new UserError(
      `features.inputRange: expected one of ${INPUT_RANGES.map((r) => `'${r}'`).join(', ')}, got ${JSON.stringify(s.inputRange)}`,
    );
  }
  channelValues('mean', s.mean, false);
  channelValues('std', s.std, true);
  integer('inputSize', s.inputSize, 0);
  if (s.pooling !== 'avg' && s.pooling !== 'flatten') {
    throw new UserError(
      `features.pooling: expected 'avg' or 'flatten', got ${JSON.stringify(s.pooling)}`,
    );
  }
  if (s.modelHash !== undefined && !/^[0-9a-f]{64}$/.test(s.modelHash)) {
    throw new UserError(`features.modelHash: not a SHA-256 in hex: ${JSON.stringify(s.modelHash)}`);
  }
  return { ...s, modelHash: s.modelHash ?? modelFilesHash(s.path, 'features.path') };
}

/** null, or one value (shared by every channel) or three (one per RGB channel). */
function channelValues(name: string, v: unknown, positiveOnly: boolean): void {
  if (v === null) return;
  const ok =
    Array.isArray(v) &&
    (v.length === 1 || v.length === 3) &&
    v.every((x) => typeof x === 'number' && Number.isFinite(x) && (!positiveOnly || x > 0));
  if (!ok) {
    throw new UserError(
      `features.${name}: expected 1 or 3 ${positiveOnly ? 'positive ' : ''}numbers, got ${JSON.stringify(v)}`,
    );
  }
}

function checkAugment(a: AugmentSettings): void {
  const k = (name: keyof AugmentSettings): string => `augment.${name}`;
  for (const key of ['cropScaleMin', 'cropScaleMax'] as const) {
    const v = a[key];
    if (!(Number.isFinite(v) && v > 0 && v <= MAX_CROP_SCALE)) {
      throw new UserError(`features.augment.${key}: must be in (0, ${MAX_CROP_SCALE}], got ${v}`);
    }
  }
  if (a.cropScaleMin > a.cropScaleMax) {
    throw new UserError(
      `features.augment.cropScaleMin (${a.cropScaleMin}) must not exceed cropScaleMax (${a.cropScaleMax})`,
    );
  }
  if (!(Number.isFinite(a.cropMaxAspect) && a.cropMaxAspect >= 1 && a.cropMaxAspect <= 2)) {
    throw new UserError(
      `features.augment.cropMaxAspect: must be in [1, 2], got ${a.cropMaxAspect}`,
    );
  }
  fraction(k('flipProbability'), a.flipProbability, true);
  fraction(k('jitterProbability'), a.jitterProbability, true);
  fraction(k('brightness'), a.brightness, true);
  fraction(k('contrast'), a.contrast, true);
  fraction(k('saturation'), a.saturation, true);
  if (!(Number.isFinite(a.hue) && a.hue >= 0 && a.hue <= 0.5)) {
    throw new UserError(`features.augment.hue: must be in [0, 0.5] turns, got ${a.hue}`);
  }
  fraction(k('greyscaleProbability'), a.greyscaleProbability, true);
}

/** Drops keys set to undefined, so they don't override defaults in a spread. */
function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function integer(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) {
    throw new UserError(`features.${name}: must be an integer ≥ ${min}, got ${v}`);
  }
}

function positive(name: string, v: number): void {
  if (!(Number.isFinite(v) && v > 0)) {
    throw new UserError(`features.${name}: must be a positive number, got ${v}`);
  }
}

/** In [0, 1], or in (0, 1] when zero is not allowed. */
function fraction(name: string, v: number, zeroAllowed: boolean): void {
  const ok = Number.isFinite(v) && v <= 1 && (zeroAllowed ? v >= 0 : v > 0);
  if (!ok) {
    throw new UserError(`features.${name}: must be in ${zeroAllowed ? '[0' : '(0'}, 1], got ${v}`);
  }
}
