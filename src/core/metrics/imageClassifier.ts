import * as tf from '@tensorflow/tfjs-core';
import { gatherBatch, gatherLabels } from '../data/batch';
import type { ImageDataset } from '../data/dataset';
import { convDown, dense } from '../models/layers';
import {
  disposeVariables,
  gradientsByName,
  ParamBuilder,
  type VariableMap,
} from '../models/paramStore';
import { Rng } from '../random/rng';
import { takeFloats, takeInts } from '../backend/tensorRead';
import { Adam } from '../train/adam';

export interface ClassifierOptions {
  steps: number;
  batchSize: number;
  width: number;
  seed: number;
  learningRate: number;
}

const DEFAULTS: ClassifierOptions = {
  steps: 600,
  batchSize: 64,
  width: 16,
  seed: 0,
  learningRate: 3e-3,
};

/**
 * A small convolutional classifier trained on the real data set. It judges whether a
 * class-conditional generator draws the class it was asked for, and its penultimate layer is the
 * feature space for distribution metrics (no Inception weights are available offline).
 */
export class ImageClassifier {
  private readonly params: VariableMap;
  readonly featureDim: number;

  private constructor(
    private readonly resolution: number,
    channels: number,
    readonly numClasses: number,
    width: number,
    seed: number,
  ) {
    const b = new ParamBuilder(new Rng(seed), 'C');
    const he = (fanIn: number): { kind: 'normal'; std: number } => ({
      kind: 'normal',
      std: Math.sqrt(2 / fanIn),
    });
    b.add('c0.w', [4, 4, channels, width], he(16 * channels));
    b.add('c0.b', [width], { kind: 'zeros' });
    b.add('c1.w', [4, 4, width, 2 * width], he(16 * width));
    b.add('c1.b', [2 * width], { kind: 'zeros' });
    const spatial = (resolution / 4) ** 2;
    this.featureDim = 4 * width;
    b.add('fc.w', [spatial * 2 * width, this.featureDim], he(spatial * 2 * width));
    b.add('fc.b', [this.featureDim], { kind: 'zeros' });
    b.add('out.w', [this.featureDim, numClasses], he(this.featureDim));
    b.add('out.b', [numClasses], { kind: 'zeros' });
    this.params = b.vars;
  }

  /** Trains on a labelled data set (resolution divisible by 4). */
  static train(data: ImageDataset, options: Partial<ClassifierOptions> = {}): ImageClassifier {
    const o = { ...DEFAULTS, ...options };
    const numClasses = data.classNames?.length ?? 0;
    if (!data.labels || numClasses < 2)
      throw new Error('the classifier needs a labelled data set with ≥ 2 classes');
    const clf = new ImageClassifier(data.height, data.channels, numClasses, o.width, o.seed);
    const opt = new Adam(clf.params, { learningRate: o.learningRate, beta1: 0.9, beta2: 0.999 });
    const rng = new Rng(o.seed + 1);
    const vars = [...clf.params.values()];
    for (let s = 0; s < o.steps; s++) {
      const idx = rng.ints(o.batchSize, data.count);
      const x = gatherBatch(data, idx);
      const y = gatherLabels(data, idx);
      const { value, grads } = tf.variableGrads(
        () => tf.losses.softmaxCrossEntropy(tf.oneHot(y, numClasses), clf.logits(x)) as tf.Scalar,
        vars,
      );
      opt.apply(gradientsByName(clf.params, grads));
      tf.dispose([x, y, value, ...Object.values(grads)]);
    }
    opt.dispose();
    return clf;
  }

  private features(x: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => {
      const h0 = tf.relu(convDown(this.params, 'c0', x));
      const h1 = tf.relu(convDown(this.params, 'c1', h0));
      return tf.relu(dense(this.params, 'fc', tf.reshape(h1, [x.shape[0], -1]) as tf.Tensor2D));
    });
  }

  private logits(x: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => dense(this.params, 'out', this.features(x)));
  }

  /** Most likely class of each image (images NHWC in [-1, 1], concatenated). */
  async predict(images: Float32Array, n: number): Promise<Int32Array> {
    const out = new Int32Array(n);
    await this.inBatches(images, n, async (x, start) => {
      out.set(await takeInts(tf.tidy(() => tf.argMax(this.logits(x), 1))), start);
    });
    return out;
  }

  /** Penultimate-layer features, n × featureDim. */
  async embed(images: Float32Array, n: number): Promise<Float32Array> {
    const out = new Float32Array(n * this.featureDim);
    await this.inBatches(images, n, async (x, start) => {
      out.set(await takeFloats(this.features(x)), start * this.featureDim);
    });
    return out;
  }

  private async inBatches(
    images: Float32Array,
    n: number,
    fn: (x: tf.Tensor4D, start: number) => Promise<void>,
  ): Promise<void> {
    const size = images.length / n;
    const channels = size / (this.resolution * this.resolution);
    for (let start = 0; start < n; start += 256) {
      const count = Math.min(256, n - start);
      const x = tf.tensor4d(images.subarray(start * size, (start + count) * size), [
        count,
        this.resolution,
        this.resolution,
        channels,
      ]);
      try {
        await fn(x, start);
      } finally {
        x.dispose();
      }
    }
  }

  dispose(): void {
    disposeVariables(this.params);
  }
}
