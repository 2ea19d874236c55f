import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../random/rng';

/**
 * Parameters are plain named tf.Variables rather than tfjs-layers objects: the engine needs
 * several copies of a network's weights (training and EMA), per-sample conditional batch norm,
 * projection heads and exact checkpoints of everything including optimizer moments — all easier
 * with a name → variable map and forward functions that take the map.
 */
export type TensorMap = ReadonlyMap<string, tf.Tensor>;
export type VariableMap = Map<string, tf.Variable>;

export type Init =
  { kind: 'normal'; std: number; mean?: number } | { kind: 'zeros' } | { kind: 'ones' };

/** tfjs registers variables by a process-wide unique name; several models may coexist (tests, EMA). */
let instanceCounter = 0;

/** Creates variables in a fixed order from one seeded stream, so a seed fixes the initial weights. */
export class ParamBuilder {
  private readonly instance = ++instanceCounter;

  readonly vars: VariableMap = new Map();

  constructor(
    private readonly rng: Rng,
    private readonly prefix: string,
  ) {}

  add(name: string, shape: number[], init: Init): void {
    const size = shape.reduce((a, b) => a * b, 1);
    let values: Float32Array;
    if (init.kind === 'normal') {
      values = this.rng.normals(size);
      const mean = init.mean ?? 0;
      for (let i = 0; i < size; i++) values[i] = mean + init.std * (values[i] as number);
    } else {
      values = new Float32Array(size).fill(init.kind === 'ones' ? 1 : 0);
    }
    const full = `${this.prefix}#${this.instance}/${name}`;
    // Under tidy, the initial tensor is released; the variable keeps the data.
    this.vars.set(
      name,
      tf.tidy(() => tf.variable(tf.tensor(values, shape), true, full)),
    );
  }
}

/** A named parameter; throws rather than returning undefined, since a missing one is a bug. */
export function param(p: TensorMap, name: string): tf.Tensor {
  const t = p.get(name);
  if (!t) throw new Error(`missing parameter '${name}'`);
  return t;
}

/**
 * tf.variableGrads keys gradients by the variables' process-wide engine names; parameter maps
 * (and the Adam optimiser) use the short names. Parameters without a gradient are left out.
 */
export function gradientsByName(
  params: VariableMap,
  grads: tf.NamedTensorMap,
): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  for (const [name, v] of params) {
    const g = grads[v.name];
    if (g) out.set(name, g);
  }
  return out;
}

export function countParameters(vars: TensorMap): number {
  let n = 0;
  for (const v of vars.values()) n += v.size;
  return n;
}

export function disposeVariables(vars: TensorMap): void {
  for (const v of vars.values()) v.dispose();
}

/** A non-trainable copy (the EMA generator starts as a copy of the generator). */
export function cloneVariables(vars: TensorMap, prefix: string): VariableMap {
  const out: VariableMap = new Map();
  const instance = ++instanceCounter;
  for (const [name, v] of vars) {
    out.set(
      name,
      tf.tidy(() => tf.variable(v.clone(), false, `${prefix}#${instance}/${name}`)),
    );
  }
  return out;
}
