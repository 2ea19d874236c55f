import type { ConditionKind, ModelConfig, ModelType } from '../config/types';

/**
 * What each model type is conditioned on — the one place that says it. TensorFlow-free (types
 * only), so the extension host, the runner and the engine all import it: the dashboard's class
 * swap, the "IC-GAN runs" pick, the config checks and the model builder read the same table.
 */

interface Capabilities {
  /** A y input: a class label, or the image's tags or vector (per model.condition). */
  conditionInput: boolean;
  /** Instance features h (IC-GAN): galleries, generation from an image or an instance. */
  instance: boolean;
}

const CAPABILITIES: Readonly<Record<ModelType, Capabilities>> = {
  dcgan: { conditionInput: false, instance: false },
  cgan: { conditionInput: true, instance: false },
  'cgan-mlp': { conditionInput: true, instance: false },
  icgan: { conditionInput: false, instance: true },
  'icgan-class': { conditionInput: true, instance: true },
};

/** A model as a config or a run's record names it (a type this build may not know). */
export interface ModelRef {
  type: string;
  condition?: ModelConfig['condition'];
}

export const MODEL_TYPES = Object.keys(CAPABILITIES) as ModelType[];

/** Model types with a y input, for messages: "cgan, cgan-mlp or icgan-class". */
export function conditionInputTypesText(): string {
  const types = MODEL_TYPES.filter((t) => CAPABILITIES[t].conditionInput);
  return `${types.slice(0, -1).join(', ')} or ${types[types.length - 1] ?? ''}`;
}

/** A run's recorded model (run.json, events) may name a type this build no longer knows. */
function capabilitiesOf(type: string): Capabilities | undefined {
  return Object.prototype.hasOwnProperty.call(CAPABILITIES, type)
    ? CAPABILITIES[type as ModelType]
    : undefined;
}

/** Whether a model type has a y input (a class, tags or a vector, per model.condition). */
export function hasConditionInput(type: string): boolean {
  return capabilitiesOf(type)?.conditionInput ?? false;
}

/** Whether a model type is conditioned on instance features (IC-GAN). */
export function needsInstances(type: string): boolean {
  return capabilitiesOf(type)?.instance ?? false;
}

/** model.condition; a run's config.json from before it existed has none and meant 'class'. */
export function conditionKind(cfg: Pick<ModelRef, 'condition'>): ConditionKind {
  return cfg.condition ?? 'class';
}

/** Whether a model takes a class label (and so needs class labels from the data set). */
export function needsLabels(cfg: ModelRef): boolean {
  return hasConditionInput(cfg.type) && conditionKind(cfg) === 'class';
}

/** 'tags' or 'vector' for a model conditioned on them (a dense y), null otherwise. */
export function denseConditionKind(cfg: ModelRef): 'tags' | 'vector' | null {
  const kind = conditionKind(cfg);
  return hasConditionInput(cfg.type) && kind !== 'class' ? kind : null;
}

/** Whether a model is conditioned on a dense y: the images' tags or vectors. */
export function needsConditionVectors(cfg: ModelRef): boolean {
  return denseConditionKind(cfg) !== null;
}

/** What a model takes, in one record (what the dashboard and the image commands ask). */
export interface ModelTakes {
  class: boolean;
  instance: boolean;
  tags: boolean;
  vector: boolean;
}

/** What a model of this type and condition takes; a run's config from before model.condition meant 'class'. */
export function modelTakes(cfg: ModelRef): ModelTakes {
  const dense = denseConditionKind(cfg);
  return {
    class: needsLabels(cfg),
    instance: needsInstances(cfg.type),
    tags: dense === 'tags',
    vector: dense === 'vector',
  };
}
