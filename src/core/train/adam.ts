import * as tf from '@tensorflow/tfjs-core';
import type { TensorMap, VariableMap } from '../models/paramStore';

export interface AdamSettings {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon?: number;
}

/**
 * A whole Adam update of one parameter as one kernel: inputs p, g, m, v; outputs p', m', v' (in
 * that order), computed exactly as {@link Adam.apply}'s composite ops compute them. Backends that
 * register it (wasm: src/core/backend/wasmUpdateKernels.ts) save the per-op overhead, which
 * dominates on small parameters; Adam runs the composite ops where it is not registered.
 */
export const ADAM_UPDATE = 'IcganAdamUpdate';

/** The scalars of {@link ADAM_UPDATE}, as float64 numbers (the kernel rounds them to float32). */
export interface AdamUpdateAttrs {
  beta1: number;
  beta2: number;
  epsilon: number;
  /** lr / (1 − β1ᵗ). */
  stepSize: number;
  /** √(1 − β2ᵗ). */
  rootCorrection: number;
}

/** Everything needed to continue the optimiser exactly: moments by parameter name and the step. */
export interface AdamState {
  iterations: number;
  m: Map<string, tf.Tensor>;
  v: Map<string, tf.Tensor>;
}

/**
 * Adam (Kingma & Ba 2015) over a named parameter map. tfjs's own optimiser keeps its moments in
 * lists ordered by first use, which makes an exact, checked checkpoint awkward; keyed by name,
 * saving and restoring is a map copy and a mismatch is detectable.
 */
export class Adam {
  private iterations = 0;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  private readonly epsilon: number;

  constructor(
    private readonly params: VariableMap,
    private readonly settings: AdamSettings,
  ) {
    this.epsilon = settings.epsilon ?? 1e-8;
    for (const [name, p] of params) {
      this.m.set(
        name,
        tf.tidy(() => tf.variable(tf.zerosLike(p), false)),
      );
      this.v.set(
        name,
        tf.tidy(() => tf.variable(tf.zerosLike(p), false)),
      );
    }
  }

  /**
   * Applies one update from gradients keyed like the parameters, with the step size scaled by
   * `lrScale` (a schedule's multiplier; the moments do not depend on it).
   */
  apply(grads: TensorMap, lrScale = 1): void {
    this.iterations++;
    const { beta1, beta2 } = this.settings;
    const learningRate = this.settings.learningRate * lrScale;
    const t = this.iterations;
    // PyTorch's (and the paper's) placement of ε: added to the bias-corrected √v̂. Folding the
    // correction into the step size instead (as this engine first did) scales ε by 1/√(1−β2ᵗ),
    // ~30× in the first steps, which shrinks the first updates of every parameter whose gradient
    // is small — the G of a GAN moved 0.6 (relative) away from PyTorch's in 3 steps
    // (bench/parity.ts).
    const stepSize = learningRate / (1 - beta1 ** t);
    const rootCorrection = Math.sqrt(1 - beta2 ** t);
    const attrs: AdamUpdateAttrs = {
      beta1,
      beta2,
      epsilon: this.epsilon,
      stepSize,
      rootCorrection,
    };
    const fused = tf.getKernel(ADAM_UPDATE, tf.getBackend()) !== undefined;
    tf.tidy(() => {
      for (const [name, p] of this.params) {
        const g = grads.get(name);
        if (!g) continue;
        const m = this.m.get(name) as tf.Variable;
        const v = this.v.get(name) as tf.Variable;
        if (fused) {
          const [p1, m1, v1] = tf
            .engine()
            .runKernel(ADAM_UPDATE, { p, g, m, v }, { ...attrs }) as tf.Tensor[];
          m.assign(m1 as tf.Tensor);
          v.assign(v1 as tf.Tensor);
          p.assign(p1 as tf.Tensor);
          continue;
        }
        // The same arithmetic, op for op, as the ADAM_UPDATE kernels: change both together.
        const m1 = tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1));
        const v1 = tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2));
        m.assign(m1);
        v.assign(v1);
        const denom = tf.add(tf.div(tf.sqrt(v1), rootCorrection), this.epsilon);
        p.assign(tf.sub(p, tf.div(tf.mul(m1, stepSize), denom)));
      }
    });
  }

  getState(): AdamState {
    return { iterations: this.iterations, m: new Map(this.m), v: new Map(this.v) };
  }

  /** Restores moments saved by getState; every parameter must be present with its shape. */
  setState(state: AdamState): void {
    for (const [kind, target, source] of [
      ['m', this.m, state.m],
      ['v', this.v, state.v],
    ] as const) {
      for (const [name, variable] of target) {
        const saved = source.get(name);
        if (!saved || saved.size !== variable.size) {
          throw new Error(`optimiser state '${kind}/${name}' is missing or has the wrong shape`);
        }
        tf.tidy(() => variable.assign(tf.reshape(saved, variable.shape)));
      }
    }
    this.iterations = state.iterations;
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
  }
}
