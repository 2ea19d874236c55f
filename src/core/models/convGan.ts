import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../config/types';
import type { Rng } from '../random/rng';
import { conditionWidth, denseCondition, type ConditionSize } from './conditionInput';
import type { Conditioning, GanModel, ImageShape } from './ganModel';
import { batchNorm, conditionalBatchNorm, convDown, convUp, dense, type BnMode } from './layers';
import { spectralNormalised } from './spectralNorm';
import { appendMinibatchStd } from './minibatchStd';
import { param, ParamBuilder, type TensorMap } from './paramStore';
import { resolveDiscriminator } from './discriminatorOptions';
import { hasConditionInput, needsInstances } from './modelCapabilities';

const INIT_STD = 0.02; // DCGAN's N(0, 0.02) initialisation
const LEAK = 0.2;

/**
 * DCGAN (Radford et al. 2016) and its conditional forms: by class (cGAN), by instance (IC-GAN,
 * Casanova et al. 2021) and by both (class-conditional IC-GAN).
 *
 * G: dense z → 4×4, then stride-2 transposed convs up to the resolution, BN + ReLU, tanh out.
 * D: stride-2 convs down to 4×4, LeakyReLU(0.2), BN after the first, a linear logit.
 * Layers followed by BN have no bias (it would be cancelled). With widths 32 at 32×32 this is the
 * "DCGAN-32" reference model of the benchmarks (542,308 parameters).
 *
 * Conditional ('cgan'): z alone is G's input and a learned class embedding drives conditional
 * batch norm in every G block; D is a projection discriminator (Miyato & Koyama 2018):
 * logit = w·φ(x) + b + E[y]·φ(x), with φ(x) D's flattened 4×4 features. By default (model.dNorm,
 * model.dMinibatchStd 'auto') its D is spectrally normalised instead of batch-normalised and
 * sees the minibatch standard deviation; dcgan keeps the reference D.
 *
 * y need not be a class (model.condition): multi-hot tags or a data vector take the one-hot's
 * place, so the "class embedding" is y times a learned matrix — for tags, the sum of the tags'
 * embeddings — and D's projection is y·P·φ(x), the same weights for any kind of y.
 *
 * Instance-conditioned ('icgan', 'icgan-class'): as in the official IC-GAN, the instance features h
 * go through a linear projection and, concatenated with the class embedding when there is one,
 * drive G's conditional batch norm; D adds a second projection term, (P·h)·φ(x).
 */
export class ConvGan implements GanModel {
  readonly generatorParams;
  readonly discriminatorParams;
  readonly zDim: number;
  readonly numClasses: number;
  readonly conditionDim: number;
  /** Width of y: the classes, or the tags / vector. */
  private readonly yWidth: number;
  private readonly gChannels: number[];
  private readonly dChannels: number[];
  /** Whether G's batch norm is conditional (on a class, an instance or both). */
  private readonly conditional: boolean;
  private readonly byClass: boolean;
  private readonly byInstance: boolean;
  /** D's normalisation after resolving 'auto'. */
  readonly dNorm: 'batch' | 'spectral';
  /** Whether D sees the minibatch standard deviation as an extra 4×4 feature map. */
  readonly minibatchStd: boolean;
  /** Images D judges together (PacGAN); 1 = each on its own. */
  readonly pack: number;
  /**
   * Images per minibatch-std group (model.groupSize): training draws them sharing a condition,
   * so the statistic measures the variety within a class or an instance's neighbourhood.
   */
  readonly groupSize: number;
  /** Weight of the AC-GAN class loss (model.auxClassifier); 0 when D has no class head. */
  readonly classifierWeight: number;

  constructor(
    readonly type: 'dcgan' | 'cgan' | 'icgan' | 'icgan-class',
    cfg: ModelConfig,
    readonly image: ImageShape,
    y: ConditionSize,
    readonly featureDim: number,
    rng: Rng,
  ) {
    this.numClasses = y.numClasses;
    this.conditionDim = y.conditionDim;
    this.yWidth = conditionWidth(y);
    this.byClass = hasConditionInput(type);
    this.byInstance = needsInstances(type);
    this.conditional = this.byClass || this.byInstance;
    ({ dNorm: this.dNorm, minibatchStd: this.minibatchStd } = resolveDiscriminator(type, cfg));
    this.pack = cfg.pack ?? 1;
    this.groupSize = cfg.groupSize ?? 0;
    // Only a class label can be classified; tags and vectors are not one class.
    this.classifierWeight = this.byClass && y.numClasses > 0 ? (cfg.auxClassifier ?? 0) : 0;
    this.zDim = cfg.zDim;
    const levels = Math.log2(image.resolution / 4);
    if (!Number.isInteger(levels) || levels < 1) {
      throw new Error(`resolution ${image.resolution} must be a power of two ≥ 8`);
    }
    // G: widest at 4×4, halving per block; D mirrors it.
    this.gChannels = Array.from({ length: levels }, (_, i) => cfg.gWidth * 2 ** (levels - 1 - i));
    this.dChannels = Array.from({ length: levels }, (_, i) => cfg.dWidth * 2 ** i);
    this.generatorParams = this.buildGenerator(cfg, new ParamBuilder(rng, 'G'));
    this.discriminatorParams = this.buildDiscriminator(new ParamBuilder(rng, 'D'), rng);
  }

  private buildGenerator(cfg: ModelConfig, b: ParamBuilder): ParamBuilder['vars'] {
    const c0 = this.gChannels[0] as number;
    // Only z enters the dense layer; the class acts through conditional batch norm. Concatenating
    // the embedding to z (as this model first did) let G collapse onto one image per class: the
    // class rows get the same-signed gradient at every step, so under Adam they outgrow the z rows
    // (whose gradients change sign with z), and bn0 then normalises z's share of the variance
    // away. With z alone, bn0 gives z's features unit variance whatever the class does.
    if (this.byClass) b.add('embed', [this.yWidth, cfg.embedDim], { kind: 'normal', std: 1 });
    // h is unit-norm: a projection with unit-variance outputs puts it on the class embedding's scale.
    if (this.byInstance) {
      b.add('hproj.w', [this.featureDim, cfg.embedDim], { kind: 'normal', std: 1 });
      b.add('hproj.b', [cfg.embedDim], { kind: 'zeros' });
    }
    b.add('fc.w', [this.zDim, 16 * c0], { kind: 'normal', std: INIT_STD });
    // The first norm acts on the dense layer's 16·c0 units (BatchNorm1d), as in the reference DCGAN.
    const condDim = (this.byClass ? cfg.embedDim : 0) + (this.byInstance ? cfg.embedDim : 0);
    this.addNorm(b, 'bn0', 16 * c0, condDim);
    for (let i = 1; i < this.gChannels.length; i++) {
      const cin = this.gChannels[i - 1] as number;
      const cout = this.gChannels[i] as number;
      b.add(`up${i}.w`, [4, 4, cout, cin], { kind: 'normal', std: INIT_STD });
      this.addNorm(b, `bn${i}`, cout, condDim);
    }
    const last = this.gChannels[this.gChannels.length - 1] as number;
    b.add('out.w', [4, 4, this.image.channels, last], { kind: 'normal', std: INIT_STD });
    b.add('out.b', [this.image.channels], { kind: 'zeros' });
    return b.vars;
  }

  private addNorm(b: ParamBuilder, name: string, channels: number, condDim: number): void {
    if (this.conditional) {
      b.add(`${name}.gain.w`, [condDim, channels], { kind: 'normal', std: INIT_STD });
      b.add(`${name}.gain.b`, [channels], { kind: 'zeros' });
      b.add(`${name}.shift.w`, [condDim, channels], { kind: 'normal', std: INIT_STD });
      b.add(`${name}.shift.b`, [channels], { kind: 'zeros' });
    } else {
      b.add(`${name}.gamma`, [channels], { kind: 'ones' });
      b.add(`${name}.beta`, [channels], { kind: 'zeros' });
    }
  }

  private buildDiscriminator(b: ParamBuilder, rng: Rng): ParamBuilder['vars'] {
    const spectral = this.dNorm === 'spectral';
    let cin: number = this.image.channels * this.pack;
    this.dChannels.forEach((cout, i) => {
      b.add(`down${i}.w`, [4, 4, cin, cout], { kind: 'normal', std: INIT_STD });
      if (spectral) addPowerIterationVector(b, rng, `down${i}.u`, cout);
      if (i === 0 || spectral) {
        b.add(`down${i}.b`, [cout], { kind: 'zeros' });
      } else {
        b.add(`bn${i}.gamma`, [cout], { kind: 'ones' });
        b.add(`bn${i}.beta`, [cout], { kind: 'zeros' });
      }
      cin = cout;
    });
    const features = 16 * (cin + (this.minibatchStd ? 1 : 0));
    b.add('logit.w', [features, 1], { kind: 'normal', std: INIT_STD });
    b.add('logit.b', [1], { kind: 'zeros' });
    if (spectral) addPowerIterationVector(b, rng, 'logit.u', 1);
    if (this.byClass) {
      b.add('project', [this.yWidth, features], { kind: 'normal', std: INIT_STD });
      if (spectral) addPowerIterationVector(b, rng, 'project.u', features);
    }
    if (this.byInstance) {
      b.add('hproject', [this.featureDim, features], { kind: 'normal', std: INIT_STD });
      if (spectral) addPowerIterationVector(b, rng, 'hproject.u', features);
    }
    // No spectral norm: the class head is not part of the adversarial critic whose slope SN bounds.
    if (this.classifierWeight > 0) {
      b.add('aux.w', [features, this.numClasses], { kind: 'normal', std: INIT_STD });
      b.add('aux.b', [this.numClasses], { kind: 'zeros' });
    }
    return b.vars;
  }

  /** y (one-hot class, tags or vector) times the named [yWidth, n] weight. */
  private classEmbedding(p: TensorMap, cond: Conditioning, name: string): tf.Tensor2D {
    return tf.matMul(denseCondition(this.type, this, cond), param(p, name) as tf.Tensor2D);
  }

  private instanceFeatures(cond: Conditioning): tf.Tensor2D {
    if (!cond.instance) throw new Error(`model '${this.type}' needs instance features`);
    return cond.instance;
  }

  /** What G's conditional batch norm sees: [projected h, class embedding], as the model has them. */
  private conditioningVector(p: TensorMap, cond: Conditioning): tf.Tensor2D | null {
    const parts: tf.Tensor2D[] = [];
    if (this.byInstance) parts.push(dense(p, 'hproj', this.instanceFeatures(cond)));
    if (this.byClass) parts.push(this.classEmbedding(p, cond, 'embed'));
    if (parts.length === 0) return null;
    return parts.length === 1 ? (parts[0] as tf.Tensor2D) : tf.concat(parts, 1);
  }

  private norm<T extends tf.Tensor2D | tf.Tensor4D>(
    p: TensorMap,
    name: string,
    x: T,
    emb: tf.Tensor2D | null,
    bn: BnMode,
  ): T {
    return emb ? conditionalBatchNorm(p, name, x, emb, bn) : batchNorm(p, name, x, bn);
  }

  /** D's map with every weight replaced by its spectrally normalised form (refining each `u`). */
  private spectralWeights(p: TensorMap): TensorMap {
    const out = new Map(p);
    for (let i = 0; i < this.dChannels.length; i++)
      out.set(`down${i}.w`, spectralNormalised(p, `down${i}.w`, `down${i}.u`));
    out.set('logit.w', spectralNormalised(p, 'logit.w', 'logit.u'));
    if (this.byClass) out.set('project', spectralNormalised(p, 'project', 'project.u'));
    if (this.byInstance) out.set('hproject', spectralNormalised(p, 'hproject', 'hproject.u'));
    return out;
  }

  generate(p: TensorMap, z: tf.Tensor2D, cond: Conditioning, bn: BnMode): tf.Tensor4D {
    return tf.tidy(() => {
      const emb = this.conditioningVector(p, cond);
      const c0 = this.gChannels[0] as number;
      const fc = tf.relu(this.norm(p, 'bn0', dense(p, 'fc', z, false), emb, bn));
      let h = tf.reshape(fc, [z.shape[0], 4, 4, c0]) as tf.Tensor4D;
      for (let i = 1; i < this.gChannels.length; i++) {
        h = tf.relu(this.norm(p, `bn${i}`, convUp(p, `up${i}`, h, false), emb, bn));
      }
      return tf.tanh(convUp(p, 'out', h));
    });
  }

  /** [B, H, W, C] → [B/pack, H, W, pack·C]: consecutive images side by side on the channels. */
  private packed(x: tf.Tensor4D): tf.Tensor4D {
    if (this.pack === 1) return x;
    const [b, h, w, c] = x.shape;
    if (b % this.pack !== 0)
      throw new Error(`a batch of ${b} does not split into packs of ${this.pack}`);
    const grouped = tf.reshape(x, [b / this.pack, this.pack, h, w, c]);
    return tf.reshape(tf.transpose(grouped, [0, 2, 3, 1, 4]), [b / this.pack, h, w, this.pack * c]);
  }

  judgesTogether(batch: number): boolean {
    // Batch norm would pool the real and fake statistics; packs keep the rule simple.
    if (this.dNorm !== 'spectral' || this.pack !== 1) return false;
    return !this.minibatchStd || (this.groupSize > 0 && batch % this.groupSize === 0);
  }

  /** Logits, one per image, or per pack of `model.pack` images (PacGAN). */
  discriminate(params: TensorMap, x: tf.Tensor4D, cond: Conditioning): tf.Tensor1D {
    return tf.tidy(() => this.critic(params, x, cond).logits);
  }

  /** The logits and, when D has a class head, its class logits [B, classes] from the same φ(x). */
  discriminateWithClasses(
    params: TensorMap,
    x: tf.Tensor4D,
    cond: Conditioning,
  ): { logits: tf.Tensor1D; classLogits?: tf.Tensor2D } {
    return tf.tidy(() => this.critic(params, x, cond));
  }

  private critic(
    params: TensorMap,
    x: tf.Tensor4D,
    cond: Conditioning,
  ): { logits: tf.Tensor1D; classLogits?: tf.Tensor2D } {
    const p = this.dNorm === 'spectral' ? this.spectralWeights(params) : params;
    let h = tf.leakyRelu(convDown(p, 'down0', this.packed(x)), LEAK);
    for (let i = 1; i < this.dChannels.length; i++) {
      h =
        this.dNorm === 'spectral'
          ? tf.leakyRelu(convDown(p, `down${i}`, h), LEAK)
          : tf.leakyRelu(
              batchNorm(p, `bn${i}`, convDown(p, `down${i}`, h, false), BATCH_STATS_D),
              LEAK,
            );
    }
    if (this.minibatchStd) h = appendMinibatchStd(h, this.groupSize);
    const phi = tf.reshape(h, [h.shape[0], -1]) as tf.Tensor2D;
    let logit = tf.reshape(dense(p, 'logit', phi), [-1]) as tf.Tensor1D;
    if (this.byClass) {
      const proj = this.classEmbedding(p, cond, 'project');
      logit = tf.add(logit, tf.sum(tf.mul(proj, phi), 1));
    }
    if (this.byInstance) {
      const proj = tf.matMul(this.instanceFeatures(cond), param(p, 'hproject') as tf.Tensor2D);
      logit = tf.add(logit, tf.sum(tf.mul(proj, phi), 1));
    }
    return {
      logits: logit,
      ...(this.classifierWeight > 0 ? { classLogits: dense(p, 'aux', phi) } : {}),
    };
  }
}

/**
 * A spectrally normalised D keeps one power-iteration vector per weight: a non-trainable variable
 * in D's map (so it is checkpointed and excluded from gradients), drawn from the init stream.
 */
function addPowerIterationVector(b: ParamBuilder, rng: Rng, name: string, size: number): void {
  const values = rng.normals(size);
  // tfjs names variables process-wide; its automatic names are unique.
  b.vars.set(
    name,
    tf.tidy(() => tf.variable(tf.tensor1d(values), false)),
  );
}

/** D is only ever run in training, on a batch: its batch norm always uses batch statistics. */
const BATCH_STATS_D: BnMode = { kind: 'batch' };
