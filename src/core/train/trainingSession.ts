import * as tf from '@tensorflow/tfjs-core';
import type { TensorRecord } from '../checkpoint/checkpointFile';
import {
  assignAll,
  statsTensorNames,
  weightPrefix,
  type CheckpointMeta,
  type WeightGroup,
} from '../checkpoint/checkpointTensors';
import type { TrainConfig } from '../config/types';
import { conditionDim, gatherBatch, gatherConditionRows, gatherLabels } from '../data/batch';
import { ClassGroups } from '../data/classGroups';
import type { ImageDataset } from '../data/dataset';
import { createModel } from '../models/createModel';
import {
  conditionKind,
  denseConditionKind,
  needsInstances,
  needsLabels,
} from '../models/modelCapabilities';
import type { Conditioning } from '../models/ganModel';
import type { InstanceIndex } from '../instances/instanceIndex';
import { InstanceSampler } from '../instances/instanceSampler';
import { gatherRows } from '../sampling/conditionArrays';
import type { GanModel } from '../models/ganModel';
import { BATCH_STATS, type BnStats } from '../models/layers';
import {
  cloneVariables,
  disposeVariables,
  gradientsByName,
  type VariableMap,
} from '../models/paramStore';
import { Rng } from '../random/rng';
import { readFloats, takeFloats } from '../backend/tensorRead';
import { computeStandingStats, type ConditionSource } from '../sampling/standingStats';
import { Adam } from './adam';
import { emaDecayAt, updateEma } from './ema';
import { lrScaleAt } from './lrSchedule';
import { augments, diffAugment } from './diffAugment';
import { classLoss, discriminatorLoss, generatorLoss } from './losses';

export interface StepStats {
  dLoss: number;
  gLoss: number;
  /** Mean σ(D(x)) over the real batch and over the generated batch. */
  dReal: number;
  dFake: number;
}

/**
 * Sees each update's inputs and gradients while they exist; the PyTorch parity harness
 * (bench/parity.ts) replays them in its mirror. Must not keep or dispose the tensors.
 */
export interface StepProbe {
  discriminatorUpdate(
    real: tf.Tensor4D,
    cond: Conditioning,
    z: tf.Tensor2D,
    grads: ReadonlyMap<string, tf.Tensor>,
  ): void;
  generatorUpdate(z: tf.Tensor2D, grads: ReadonlyMap<string, tf.Tensor>): void;
}

/**
 * One GAN being trained: model, both optimisers, the EMA generator and the random stream, with
 * an exact snapshot/restore. The training loop, events and files live in trainJob; this class
 * only knows how to take a step.
 */
export class TrainingSession {
  readonly model: GanModel;
  readonly ema: VariableMap;
  step = 0;
  private readonly optG: Adam;
  private readonly optD: Adam;
  private rng: Rng;
  private emaUpdates = 0;
  probe: StepProbe | null = null;

  /** IC-GAN's instance-balanced sampler; null for models without instance conditioning. */
  private readonly sampler: InstanceSampler | null;
  /** Class-sharing groups for class-conditional models (see conditionGroup). */
  private readonly classGroups: ClassGroups | null;
  /** 'tags' or 'vector' when y is dense, null for class labels or no y. */
  private readonly denseKind: 'tags' | 'vector' | null;
  /** The training images' dense y, for the standing statistics and the grid's example rows. */
  readonly conditions: ConditionSource | null;

  constructor(
    private readonly config: TrainConfig,
    private readonly data: ImageDataset,
    /** Features and neighbourhoods of the training instances (IC-GAN models only). */
    readonly instances: InstanceIndex | null = null,
  ) {
    const initRng = new Rng(config.seed);
    const numClasses = needsLabels(config.model) ? (data.classNames?.length ?? 0) : 0;
    this.denseKind = denseConditionKind(config.model);
    const yDim = this.denseKind ? conditionDim(data, this.denseKind) : 0;
    const kind = this.denseKind;
    this.conditions =
      kind && yDim > 0
        ? { count: data.count, rows: (indices) => gatherConditionRows(data, kind, indices) }
        : null;
    if (needsInstances(config.model.type) && !instances) {
      throw new Error(`model '${config.model.type}' needs an instance index`);
    }
    this.sampler =
      needsInstances(config.model.type) && instances
        ? new InstanceSampler(instances.neighbours, instances.count, instances.k)
        : null;
    this.model = createModel(
      config.model,
      { resolution: data.height, channels: data.channels },
      numClasses,
      initRng,
      this.sampler && instances ? instances.dim : 0,
      yDim,
    );
    this.classGroups =
      this.model.numClasses > 0 && data.labels ? new ClassGroups(data.labels) : null;
    this.ema = cloneVariables(this.model.generatorParams, 'EMA');
    const t = config.training;
    this.optG = new Adam(this.model.generatorParams, {
      learningRate: t.gLr,
      beta1: t.beta1,
      beta2: t.beta2,
    });
    this.optD = new Adam(this.model.discriminatorParams, {
      learningRate: t.dLr,
      beta1: t.beta1,
      beta2: t.beta2,
    });
    // A stream separate from initialisation, so changing the model does not shift batch order.
    this.rng = new Rng((config.seed ^ 0x5bd1e995) >>> 0);
  }

  private noise(batch: number): tf.Tensor2D {
    return tf.tensor2d(this.rng.normals(batch * this.model.zDim), [batch, this.model.zDim]);
  }

  /**
   * A real batch and the condition both players get for it. Plain and class-conditional models
   * draw images uniformly. IC-GAN draws an instance i uniformly, then a real neighbour x_j from
   * A_i: D judges x_j (with y_j) against G(z, h_i, y_j), both conditioned on h_i.
   */
  private drawBatch(batch: number): { real: tf.Tensor4D; cond: Conditioning } {
    const { model, data } = this;
    let images: Int32Array;
    const cond: Conditioning = {};
    const group = this.conditionGroup();
    if (this.sampler && this.instances) {
      const draw = this.sampler.sample(this.rng, batch, group);
      images = draw.neighbours;
      const h = gatherRows(this.instances.features, this.instances.dim, draw.instances);
      cond.instance = tf.tensor2d(h, [batch, this.instances.dim]);
    } else if (this.classGroups && group > 1) {
      images = this.classGroups.draw(this.rng, batch, group);
    } else {
      images = this.rng.ints(batch, data.count);
    }
    if (model.numClasses > 0) cond.labels = gatherLabels(data, images);
    if (this.denseKind && model.conditionDim > 0) {
      const rows = gatherConditionRows(data, this.denseKind, images);
      if (this.denseKind === 'tags') this.dropTags(rows);
      cond.vector = tf.tensor2d(rows, [batch, model.conditionDim]);
    }
    return { real: gatherBatch(data, images), cond };
  }

  /**
   * Images per group that share a condition (model.groupSize), when D's minibatch statistic is
   * taken per group; 1 = draw independently. Models conditioned on tags or vectors draw
   * independently (few images share a whole y).
   */
  private conditionGroup(): number {
    const g = this.config.model.groupSize ?? 0;
    const model = this.model as { minibatchStd?: boolean };
    return model.minibatchStd && g > 1 && this.config.training.batchSize % g === 0 ? g : 1;
  }

  /**
   * model.tagDropout: leaves each tag out with that probability. D then sees (x, some of x's
   * tags) — still a true pair — so G learns to honour requests that name only some tags.
   */
  private dropTags(rows: Float32Array): void {
    const p = this.config.model.tagDropout ?? 0;
    if (p <= 0) return;
    for (let i = 0; i < rows.length; i++) if (rows[i] && this.rng.uniform() < p) rows[i] = 0;
  }

  private get augmenting(): boolean {
    return augments(this.config.training.augment);
  }

  /** What D sees of an image batch: training.augment's policies, or the batch itself. */
  private augment(x: tf.Tensor4D): tf.Tensor4D {
    const cfg = this.config.training.augment;
    return augments(cfg) ? diffAugment(x, cfg, this.rng) : x;
  }

  /**
   * D's logits and, when D has an AC-GAN class head, its weighted class loss against the labels
   * asked for: trained on real images in D's update, on fakes in G's (never fakes for D, so the
   * head learns what the classes look like in the data, not in G's samples).
   */
  private critic(
    x: tf.Tensor4D,
    cond: Conditioning,
    classRows = x.shape[0],
  ): { logits: tf.Tensor1D; classLoss?: tf.Scalar } {
    const { model } = this;
    const weight = model.classifierWeight ?? 0;
    if (weight <= 0 || !model.discriminateWithClasses || !cond.labels) {
      return { logits: model.discriminate(model.discriminatorParams, x, cond) };
    }
    const out = model.discriminateWithClasses(model.discriminatorParams, x, cond);
    if (!out.classLogits) return { logits: out.logits };
    // The class loss of the first `classRows` images only (the real half of a joint batch).
    const rows = (t: tf.Tensor2D | tf.Tensor1D) =>
      classRows === x.shape[0] ? t : tf.slice(t, 0, classRows);
    const loss = classLoss(rows(out.classLogits) as tf.Tensor2D, rows(cond.labels) as tf.Tensor1D);
    return { logits: out.logits, classLoss: tf.mul<tf.Scalar>(loss, weight) };
  }

  /**
   * D's logits on the real and the fake batch, and its class loss on the real one. Where the model
   * allows it (judgesTogether), one call on both: the same logits as two calls, but each weight's
   * spectral norm is computed — and its power-iteration vector refined — once per D update rather
   * than twice, and every layer runs once on twice the rows (the demo step: ~300 fewer kernels).
   * The PyTorch mirror (bench/mirror/train.py, parity.py) follows the same rule.
   */
  private judge(
    real: tf.Tensor4D,
    fake: tf.Tensor4D,
    cond: Conditioning,
  ): { real: tf.Tensor1D; fake: tf.Tensor1D; classLoss?: tf.Scalar } {
    const { model } = this;
    const batch = real.shape[0];
    if (!model.judgesTogether?.(batch)) {
      const { logits, classLoss: realClassLoss } = this.critic(real, cond);
      const fakeLogits = model.discriminate(model.discriminatorParams, fake, cond);
      return {
        real: logits,
        fake: fakeLogits,
        ...(realClassLoss ? { classLoss: realClassLoss } : {}),
      };
    }
    const twice = (t: tf.Tensor | undefined) => (t ? tf.concat([t, t]) : undefined);
    const both: Conditioning = {};
    if (cond.labels) both.labels = twice(cond.labels) as tf.Tensor1D;
    if (cond.instance) both.instance = twice(cond.instance) as tf.Tensor2D;
    if (cond.vector) both.vector = twice(cond.vector) as tf.Tensor2D;
    const { logits, classLoss: realClassLoss } = this.critic(tf.concat([real, fake]), both, batch);
    return {
      real: tf.slice(logits, 0, batch),
      fake: tf.slice(logits, batch, batch),
      ...(realClassLoss ? { classLoss: realClassLoss } : {}),
    };
  }

  /** One generator update preceded by `dStepsPerG` discriminator updates. */
  async trainStep(): Promise<StepStats> {
    const { batchSize, loss, dStepsPerG, steps, lrDecay } = this.config.training;
    const { model } = this;
    const lrScale = lrScaleAt(this.step, steps, lrDecay);
    const gVars = [...model.generatorParams.values()];
    const dVars = [...model.discriminatorParams.values()];
    let last: tf.Tensor1D | undefined;
    let cond: Conditioning = {};
    for (let k = 0; k < dStepsPerG; k++) {
      disposeConditioning(cond);
      last?.dispose();
      const batch = this.drawBatch(batchSize);
      const real = batch.real;
      cond = batch.cond;
      const z = this.noise(batchSize);
      const fake = tf.tidy(() =>
        this.augment(model.generate(model.generatorParams, z, cond, BATCH_STATS)),
      );
      const seen = this.augmenting ? this.augment(real) : real;
      let probs: tf.Tensor1D | undefined;
      const { value, grads } = tf.variableGrads(() => {
        const {
          real: realLogits,
          fake: fakeLogits,
          classLoss: realClassLoss,
        } = this.judge(seen, fake, cond);
        probs = tf.keep(
          tf.stack([
            tf.mean(tf.sigmoid(realLogits)),
            tf.mean(tf.sigmoid(fakeLogits)),
          ]) as tf.Tensor1D,
        );
        const adversarial = discriminatorLoss(loss, realLogits, fakeLogits);
        return realClassLoss ? tf.add<tf.Scalar>(adversarial, realClassLoss) : adversarial;
      }, dVars);
      const dGrads = gradientsByName(model.discriminatorParams, grads);
      this.probe?.discriminatorUpdate(real, cond, z, dGrads);
      this.optD.apply(dGrads, lrScale);
      last = tf.tidy(
        () => tf.concat([tf.reshape(value, [1]), probs as tf.Tensor1D]) as tf.Tensor1D,
      );
      tf.dispose([real, seen, z, fake, value, probs as tf.Tensor1D, ...Object.values(grads)]);
    }
    // The generator gets the conditions of the last real batch: same classes, same instances.
    const z = this.noise(batchSize);
    const { value: gValue, grads: gGrads } = tf.variableGrads(() => {
      const fake = this.augment(model.generate(model.generatorParams, z, cond, BATCH_STATS));
      const { logits, classLoss: fakeClassLoss } = this.critic(fake, cond);
      const adversarial = generatorLoss(loss, logits);
      return fakeClassLoss ? tf.add<tf.Scalar>(adversarial, fakeClassLoss) : adversarial;
    }, gVars);
    const gNamed = gradientsByName(model.generatorParams, gGrads);
    this.probe?.generatorUpdate(z, gNamed);
    this.optG.apply(gNamed, lrScale);
    updateEma(
      this.ema,
      model.generatorParams,
      emaDecayAt(this.config.training.emaDecay, this.emaUpdates++),
    );
    const logged = tf.tidy(() => tf.concat([last as tf.Tensor1D, tf.reshape(gValue, [1])]));
    tf.dispose([z, gValue, ...Object.values(gGrads), last as tf.Tensor1D]);
    disposeConditioning(cond);
    this.step++;
    // The step's one read: the logged figures, after every update has been queued.
    const values = await takeFloats(logged);
    return {
      dLoss: values[0] ?? NaN,
      dReal: values[1] ?? NaN,
      dFake: values[2] ?? NaN,
      gLoss: values[3] ?? NaN,
    };
  }

  /**
   * The y of up to `max` real images with distinct conditions, in data-set order: the rows of the
   * sample grid for models conditioned on tags or vectors (stored in checkpoints for sampling).
   */
  conditionExamples(max = 16): number[][] {
    // The data never change during a run: found once (it may scan every image).
    if (this.examples?.max === max) return this.examples.rows;
    const source = this.conditions;
    const d = this.model.conditionDim;
    if (!source || d === 0) return [];
    const seen = new Set<string>();
    const out: number[][] = [];
    for (let i = 0; i < this.data.count && out.length < max; i++) {
      const row = Array.from(source.rows([i]));
      const key = row.join(',');
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(row);
    }
    this.examples = { max, rows: out };
    return out;
  }

  private examples: { max: number; rows: number[][] } | null = null;

  /** Standing batch-norm statistics of the EMA generator at this step (see computeStandingStats). */
  standingStats(): Map<string, BnStats> {
    return computeStandingStats(
      this.model,
      this.ema,
      this.config.seed + 1,
      this.instances?.features,
      this.conditions ?? undefined,
    );
  }

  /** Everything a resume needs, as plain arrays. */
  async snapshot(
    stats: ReadonlyMap<string, BnStats>,
    classNames: readonly string[] | null,
    conditionExamples: number[][] = [],
  ): Promise<{ meta: CheckpointMeta; tensors: TensorRecord[] }> {
    const named: [string, tf.Tensor][] = [];
    for (const [group, map] of this.groups())
      for (const [n, t] of map) named.push([weightPrefix(group) + n, t]);
    for (const [prefix, opt] of [
      ['optG', this.optG],
      ['optD', this.optD],
    ] as const) {
      const s = opt.getState();
      for (const [n, t] of s.m) named.push([`${prefix}.m/${n}`, t]);
      for (const [n, t] of s.v) named.push([`${prefix}.v/${n}`, t]);
    }
    for (const [n, s] of stats) {
      const names = statsTensorNames(n);
      named.push([names.mean, s.mean]);
      named.push([names.variance, s.variance]);
    }
    // Read together, not one after another: on a GPU each read waits for the queue.
    const data = await Promise.all(named.map(([, t]) => readFloats(t)));
    const tensors: TensorRecord[] = named.map(([name, t], i) => ({
      name,
      shape: t.shape,
      data: data[i] as Float32Array,
    }));
    const meta: CheckpointMeta = {
      step: this.step,
      modelType: this.model.type,
      zDim: this.model.zDim,
      numClasses: this.model.numClasses,
      featureDim: this.model.featureDim,
      classNames: classNames ? [...classNames] : null,
      condition: conditionKind(this.config.model),
      conditionDim: this.model.conditionDim,
      tagNames: this.denseKind === 'tags' ? [...(this.data.conditions?.tagNames ?? [])] : null,
      conditionExamples,
      resolution: this.model.image.resolution,
      channels: this.model.image.channels,
      rng: this.rng.getState(),
      gIterations: this.optG.getState().iterations,
      dIterations: this.optD.getState().iterations,
      emaUpdates: this.emaUpdates,
      time: new Date().toISOString(),
    };
    return { meta, tensors };
  }

  /** Restores a snapshot; every tensor must be present with the model's shapes. */
  restore(meta: CheckpointMeta, tensors: ReadonlyMap<string, TensorRecord>): void {
    if (
      meta.modelType !== this.model.type ||
      meta.numClasses !== this.model.numClasses ||
      (meta.conditionDim ?? 0) !== this.model.conditionDim ||
      meta.zDim !== this.model.zDim
    ) {
      throw new Error(
        `checkpoint is for a ${meta.modelType} with ${meta.numClasses} classes, a y of ${meta.conditionDim ?? 0} and z of ${meta.zDim}, not this ${this.model.type} (${this.model.numClasses}, ${this.model.conditionDim}, ${this.model.zDim})`,
      );
    }
    for (const [group, map] of this.groups()) assignAll(map, tensors, weightPrefix(group));
    for (const [prefix, opt, iterations] of [
      ['optG', this.optG, meta.gIterations],
      ['optD', this.optD, meta.dIterations],
    ] as const) {
      const m = new Map<string, tf.Tensor>();
      const v = new Map<string, tf.Tensor>();
      for (const [name, rec] of tensors) {
        if (name.startsWith(`${prefix}.m/`))
          m.set(name.slice(prefix.length + 3), tf.tensor(rec.data, rec.shape));
        if (name.startsWith(`${prefix}.v/`))
          v.set(name.slice(prefix.length + 3), tf.tensor(rec.data, rec.shape));
      }
      try {
        opt.setState({ iterations, m, v });
      } finally {
        tf.dispose([...m.values(), ...v.values()]);
      }
    }
    this.rng = Rng.fromState(meta.rng);
    this.emaUpdates = meta.emaUpdates;
    this.step = meta.step;
  }

  private groups(): [WeightGroup, VariableMap][] {
    return [
      ['G', this.model.generatorParams],
      ['D', this.model.discriminatorParams],
      ['EMA', this.ema],
    ];
  }

  dispose(): void {
    disposeVariables(this.model.generatorParams);
    disposeVariables(this.model.discriminatorParams);
    disposeVariables(this.ema);
    this.optG.dispose();
    this.optD.dispose();
  }
}

function disposeConditioning(c: Conditioning): void {
  c.labels?.dispose();
  c.instance?.dispose();
  c.vector?.dispose();
}
