import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadLatestCheckpoint } from '../checkpoint/checkpointStore';
import {
  assignAll,
  statsFromCheckpoint,
  weightPrefix,
  type CheckpointMeta,
} from '../checkpoint/checkpointTensors';
import type { ModelConfig } from '../config/types';
import { UserError } from '../errors';
import type { GanModel } from '../models/ganModel';
import type { BnStats } from '../models/layers';
import { createModel } from '../models/createModel';
import { disposeVariables } from '../models/paramStore';
import type { InstanceIndex } from '../instances/instanceIndex';
import { loadRunInstances } from '../instances/prepareInstances';
import { Rng } from '../random/rng';
import { assertRunFolder, RUN_FILES } from '../run/runFolder';
import { computeStandingStats, disposeStats } from './standingStats';

/** A trained generator ready for sampling: EMA weights and the standing batch-norm statistics. */
export interface LoadedGenerator {
  model: GanModel;
  stats: Map<string, BnStats>;
  meta: CheckpointMeta;
  /** The training instances of an IC-GAN run (features, neighbourhoods, representatives). */
  instances: InstanceIndex | null;
  checkpointFile: string;
  dispose(): void;
}

/**
 * Loads the EMA generator of a run's newest valid checkpoint. No data set is read: the model's
 * shape comes from the checkpoint, its architecture from the run's config.json.
 */
export function loadGenerator(
  runDir: string,
  warn: (msg: string) => void = () => undefined,
  /** Load the newest checkpoint at or before this step instead of the newest. */
  atMostStep = Infinity,
  /**
   * 'raw': the trained generator instead of its EMA copy (to judge what the average buys), with
   * standing statistics computed for it; models conditioned on tags or vectors need the data's
   * rows for those and are not supported.
   */
  weights: 'ema' | 'raw' = 'ema',
): LoadedGenerator {
  const dir = path.resolve(runDir);
  assertRunFolder(dir);
  const config = JSON.parse(fs.readFileSync(path.join(dir, RUN_FILES.config), 'utf8')) as {
    model: ModelConfig;
  };
  const ckpt = loadLatestCheckpoint<CheckpointMeta>(
    path.join(dir, RUN_FILES.checkpoints),
    warn,
    atMostStep,
  );
  if (!ckpt) throw new UserError(`${dir}: the run has no valid checkpoint yet`);
  const { meta } = ckpt;
  const model = createModel(
    config.model,
    { resolution: meta.resolution, channels: meta.channels },
    meta.numClasses,
    new Rng(0),
    meta.featureDim ?? 0,
    meta.conditionDim ?? 0,
  );
  // Only the generator is needed; its weights are replaced by the EMA copy.
  disposeVariables(model.discriminatorParams);
  model.discriminatorParams.clear();
  assignAll(model.generatorParams, ckpt.tensors, weightPrefix(weights === 'ema' ? 'EMA' : 'G'));
  const instances = model.featureDim > 0 ? loadRunInstances(dir) : null;
  if (weights === 'raw' && model.conditionDim > 0) {
    throw new UserError(`${dir}: raw weights of a model conditioned on tags or vectors`);
  }
  const stats =
    weights === 'ema'
      ? statsFromCheckpoint(ckpt.tensors)
      : computeStandingStats(model, model.generatorParams, 0, instances?.features);
  return {
    model,
    stats,
    meta,
    instances,
    checkpointFile: ckpt.file,
    dispose: () => {
      disposeVariables(model.generatorParams);
      disposeStats(stats);
    },
  };
}

/** Resolves `--class` given as a class name or an index. */
export function resolveClass(meta: CheckpointMeta, value: string): number {
  if (meta.numClasses === 0)
    throw new UserError(`--class: this run's model (${meta.modelType}) is not class-conditional`);
  const names = meta.classNames ?? Array.from({ length: meta.numClasses }, (_, i) => String(i));
  const byName = names.indexOf(value);
  if (byName >= 0) return byName;
  const n = Number(value);
  if (Number.isInteger(n) && n >= 0 && n < meta.numClasses) return n;
  throw new UserError(`--class: unknown class '${value}' (known: ${names.join(', ')})`);
}
