import * as tf from '@tensorflow/tfjs-core';
import { readFloats } from '../backend/tensorRead';
import { dense } from '../models/layers';
import {
  cloneVariables,
  disposeVariables,
  gradientsByName,
  ParamBuilder,
  type TensorMap,
  type VariableMap,
} from '../models/paramStore';
import { Rng } from '../random/rng';
import { Adam } from '../train/adam';
import { emaDecayAt, updateEma } from '../train/ema';
import { discriminatorLoss, generatorLoss } from '../train/losses';

/**
 * The cGAN paper's image-tagging experiment with the modalities as it ran them: G(z, h) turns an
 * image's features h into a tag-embedding vector; D(v, h) tells the embedding of one of the
 * image's real tags from G's. Drawing many z gives a distribution over tag vectors per image, so
 * one image yields many plausible tags. MLPs as in the paper (ReLU, joint hidden layers).
 */
/**
 * G's weights are averaged, and tags read from the average: G alone drifts from tag to tag as D
 * catches up, and the average over that drift (measured on shapes: precision@3 0.35 → 0.40) is
 * the stable answer.
 */
const EMA_DECAY = 0.999;

export interface TagGanSettings {
  zDim: number;
  hidden: number;
  /** Vectors D judges together for one image (PacGAN); see discriminate. */
  pack: number;
  steps: number;
  batchSize: number;
  learningRate: number;
  seed: number;
}

export interface TagGanShape {
  featureDim: number;
  embedDim: number;
  zDim: number;
  hidden: number;
  pack: number;
}

export class TagGan {
  readonly generator: VariableMap;
  readonly discriminator: VariableMap;
  /** Running average of G's weights (EMA_DECAY): what tags are read from. */
  readonly ema: VariableMap;

  constructor(
    readonly shape: TagGanShape,
    rng: Rng,
  ) {
    const { featureDim: f, embedDim: e, zDim: z, hidden: h, pack } = shape;
    const n = (fanIn: number) => ({ kind: 'normal', std: Math.sqrt(2 / fanIn) }) as const;
    const zeros = { kind: 'zeros' } as const;
    const g = new ParamBuilder(rng, 'TG');
    g.add('z.w', [z, h], n(z));
    g.add('z.b', [h], zeros);
    g.add('h.w', [f, h], n(f));
    g.add('h.b', [h], zeros);
    g.add('joint.w', [2 * h, h], n(2 * h));
    g.add('joint.b', [h], zeros);
    g.add('out.w', [h, e], n(h));
    g.add('out.b', [e], zeros);
    this.generator = g.vars;
    const d = new ParamBuilder(rng, 'TD');
    d.add('v.w', [pack * e, h], n(pack * e));
    d.add('v.b', [h], zeros);
    d.add('v2.w', [h, h], n(h));
    d.add('v2.b', [h], zeros);
    d.add('logit.w', [h, 1], n(h));
    d.add('logit.b', [1], zeros);
    d.add('project.w', [f, h], { kind: 'normal', std: 0.02 });
    this.discriminator = d.vars;
    this.ema = cloneVariables(this.generator, 'TG-EMA');
  }

  /** Tag-embedding vectors, L2-normalised: only their direction is read (cosine to the tags). */
  generate(p: TensorMap, z: tf.Tensor2D, h: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const joint = tf.relu(
        dense(p, 'joint', tf.concat([tf.relu(dense(p, 'z', z)), tf.relu(dense(p, 'h', h))], 1)),
      );
      const v = dense(p, 'out', joint);
      return tf.div(v, tf.add(tf.norm(v, 'euclidean', 1, true), 1e-8));
    });
  }

  /**
   * A projection discriminator (Miyato & Koyama 2018), logit = w·φ(v) + (P h)·φ(v), on packs:
   * `v` holds `pack` vectors per image, side by side ([B, pack·embedDim]), real ones being tags of
   * that image drawn with replacement (PacGAN, Lin et al. 2018). Concatenating h to v's features,
   * as first tried, let D ignore h; the inner product makes agreement with h what D scores. One
   * vector at a time, G hopped between single tags of an image; a pack of G's vectors that are all
   * the same tag looks nothing like a real pack, so G has to spread over the image's tags.
   */
  discriminate(p: TensorMap, v: tf.Tensor2D, h: tf.Tensor2D): tf.Tensor1D {
    return tf.tidy(() => {
      const phi = tf.leakyRelu(dense(p, 'v2', tf.leakyRelu(dense(p, 'v', v), 0.2)), 0.2);
      const plain = tf.reshape(dense(p, 'logit', phi), [-1]);
      const projected = tf.sum(tf.mul(dense(p, 'project', h, false), phi), 1);
      return tf.add(plain, projected) as tf.Tensor1D;
    });
  }

  dispose(): void {
    disposeVariables(this.generator);
    disposeVariables(this.discriminator);
    disposeVariables(this.ema);
  }
}

export interface TagTrainingData {
  /** count × featureDim instance features. */
  features: Float32Array;
  featureDim: number;
  /** Tag indices of each image; images without tags are not trained on. */
  tags: readonly number[][];
  /** Tag embeddings, T × embedDim, L2-normalised rows. */
  embeddings: Float32Array;
  embedDim: number;
}

/**
 * Trains G and D on (h_i, embedding of one of image i's tags) pairs: an image is drawn uniformly
 * among those with tags, then one of its tags, as the paper paired each image with its user tags.
 */
export async function trainTagGan(
  data: TagTrainingData,
  s: TagGanSettings,
  onProgress?: (step: number, dLoss: number, gLoss: number) => void,
): Promise<TagGan> {
  const tagged = data.tags.flatMap((list, i) => (list.length > 0 ? [i] : []));
  if (tagged.length === 0) throw new Error('no image has a tag to learn from');
  const initRng = new Rng(s.seed);
  const gan = new TagGan(
    {
      featureDim: data.featureDim,
      embedDim: data.embedDim,
      zDim: s.zDim,
      hidden: s.hidden,
      pack: s.pack,
    },
    initRng,
  );
  const rng = new Rng((s.seed ^ 0x7a66) >>> 0);
  const settings = { learningRate: s.learningRate, beta1: 0.5, beta2: 0.999 };
  const optG = new Adam(gan.generator, settings);
  const optD = new Adam(gan.discriminator, settings);
  const { featureDim: f, embedDim: e } = data;
  const b = s.batchSize;
  try {
    const m = s.pack;
    for (let step = 1; step <= s.steps; step++) {
      const h = new Float32Array(b * f);
      const real = new Float32Array(b * m * e);
      for (let i = 0; i < b; i++) {
        const image = tagged[rng.int(tagged.length)] as number;
        const list = data.tags[image] as number[];
        h.set(data.features.subarray(image * f, (image + 1) * f), i * f);
        for (let k = 0; k < m; k++) {
          const tag = list[rng.int(list.length)] as number;
          real.set(data.embeddings.subarray(tag * e, (tag + 1) * e), (i * m + k) * e);
        }
      }
      const ht = tf.tensor2d(h, [b, f]);
      const vt = tf.tensor2d(real, [b, m * e]);
      const z1 = tf.tensor2d(rng.normals(b * m * s.zDim), [b * m, s.zDim]);
      const z2 = tf.tensor2d(rng.normals(b * m * s.zDim), [b * m, s.zDim]);
      // G sees each image's h once per pack member; D sees the pack as one row.
      const hRepeated = tf.tidy(
        () => tf.reshape(tf.tile(tf.reshape(ht, [b, 1, f]), [1, m, 1]), [b * m, f]) as tf.Tensor2D,
      );
      const packed = (v: tf.Tensor2D): tf.Tensor2D => tf.reshape(v, [b, m * e]);
      const fake = tf.tidy(() => packed(gan.generate(gan.generator, z1, hRepeated)));
      const d = tf.variableGrads(
        () =>
          discriminatorLoss(
            'nonsaturating',
            gan.discriminate(gan.discriminator, vt, ht),
            gan.discriminate(gan.discriminator, fake, ht),
          ),
        [...gan.discriminator.values()],
      );
      optD.apply(gradientsByName(gan.discriminator, d.grads));
      const g = tf.variableGrads(
        () =>
          generatorLoss(
            'nonsaturating',
            gan.discriminate(
              gan.discriminator,
              packed(gan.generate(gan.generator, z2, hRepeated)),
              ht,
            ),
          ),
        [...gan.generator.values()],
      );
      optG.apply(gradientsByName(gan.generator, g.grads));
      updateEma(gan.ema, gan.generator, emaDecayAt(EMA_DECAY, step - 1));
      if (onProgress && (step % 100 === 0 || step === s.steps)) {
        const [dLoss, gLoss] = await Promise.all([readFloats(d.value), readFloats(g.value)]);
        onProgress(step, dLoss[0] ?? NaN, gLoss[0] ?? NaN);
      }
      tf.dispose([
        ht,
        hRepeated,
        vt,
        z1,
        z2,
        fake,
        d.value,
        g.value,
        ...Object.values(d.grads),
        ...Object.values(g.grads),
      ]);
    }
    return gan;
  } catch (err) {
    gan.dispose();
    throw err;
  } finally {
    optG.dispose();
    optD.dispose();
  }
}
