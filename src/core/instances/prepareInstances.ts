import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TrainConfig } from '../config/types';
import { conditionDim, gatherConditionRows } from '../data/batch';
import type { ImageDataset } from '../data/dataset';
import { denseConditionKind } from '../models/modelCapabilities';
import { UserError } from '../errors';
import { computeOrLoadFeatures } from '../features/featureCache';
import type { FeatureExtractor } from '../features/featureExtractor';
import { resolveFeatureSettings, type FeatureSettingsInput } from '../features/featureSettings';
import {
  buildInstanceIndex,
  loadInstanceIndex,
  saveInstanceIndex,
  type InstanceIndex,
} from './instanceIndex';

/** Where a run keeps its instance data (part of the run-folder contract). */
export const INSTANCE_FILES = {
  dir: 'instances',
  index: path.join('instances', 'index.icgan-index'),
  extractor: path.join('instances', 'extractor'),
} as const;

/** Features are shared between runs of the same data and settings through this cache. */
export function featureCacheDir(config: TrainConfig): string {
  return path.join(config.runsDir, '.feature-cache');
}

export interface PreparedInstances {
  index: InstanceIndex;
  /** The extractor, to be saved with the run; null when the index was loaded from a run folder. */
  extractor: FeatureExtractor | null;
}

/**
 * The instance index of a new IC-GAN run: features (cached by data and settings), then exact
 * neighbourhoods and representatives. A k the data set can't satisfy is a config error.
 */
export async function computeInstances(
  config: TrainConfig,
  data: ImageDataset,
  log: (line: string) => void,
): Promise<PreparedInstances> {
  const { k, representatives } = config.instances;
  if (k >= data.count) {
    throw new UserError(
      `${config.configPath}: instances.k: ${k} neighbours need more than ${k} images, but the data set has ${data.count}`,
    );
  }
  const settings = resolveFeatureSettings(config.instances.features as FeatureSettingsInput);
  const features = await computeOrLoadFeatures(data, settings, featureCacheDir(config), log);
  const started = performance.now();
  const { engine, ...index } = await buildInstanceIndex(
    features.features,
    data.count,
    features.dim,
    {
      k,
      representatives,
      seed: config.seed,
    },
    data.labels ?? null,
    instanceConditions(config, data),
  );
  log(
    `instances: ${data.count} neighbourhoods of k = ${k} (exact cosine search on ${engine}) and ${index.representatives.length} representatives in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  return { index, extractor: features.extractor };
}

/** The instances' own tags or vectors, when the model is conditioned on them. */
function instanceConditions(
  config: TrainConfig,
  data: ImageDataset,
): { rows: Float32Array; dim: number } | null {
  const kind = denseConditionKind(config.model);
  if (!kind) return null;
  const all = Int32Array.from({ length: data.count }, (_, i) => i);
  return { rows: gatherConditionRows(data, kind, all), dim: conditionDim(data, kind) };
}

/** Stores the index and the extractor in the run folder, so an unseen image can be embedded later. */
export async function saveInstances(runDir: string, prepared: PreparedInstances): Promise<void> {
  await fs.promises.mkdir(path.join(runDir, INSTANCE_FILES.dir), { recursive: true });
  await prepared.extractor?.save(path.join(runDir, INSTANCE_FILES.extractor));
  await saveInstanceIndex(path.join(runDir, INSTANCE_FILES.index), prepared.index);
}

/** The index a run stored; resuming never recomputes features, so the neighbourhoods stay fixed. */
export function loadRunInstances(runDir: string): InstanceIndex {
  const file = path.join(runDir, INSTANCE_FILES.index);
  if (!fs.existsSync(file))
    throw new UserError(`${runDir}: the run has no instance index (${INSTANCE_FILES.index})`);
  return loadInstanceIndex(file);
}
