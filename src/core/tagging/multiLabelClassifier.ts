import * as tf from '@tensorflow/tfjs-core';
import { dense } from '../models/layers';
import {
  disposeVariables,
  gradientsByName,
  ParamBuilder,
  type VariableMap,
} from '../models/paramStore';
import { Rng } from '../random/rng';
import { takeFloats } from '../backend/tensorRead';
import { Adam } from '../train/adam';

/**
 * The reference for image → tags: a plain supervised multi-label classifier on the same instance
 * features (one hidden ReLU layer, an independent sigmoid per tag, binary cross-entropy). The cGAN
 * tagger should be judged against what direct supervision gets from the same h.
 */
export interface MultiLabelSettings {
  hidden: number;
  steps: number;
  batchSize: number;
  learningRate: number;
  seed: number;
}

export class MultiLabelClassifier {
  private constructor(
    private readonly params: VariableMap,
    readonly featureDim: number,
    readonly tags: number,
  ) {}

  static train(
    features: Float32Array,
    featureDim: number,
    tags: Uint8Array | Float32Array,
    tagCount: number,
    count: number,
    s: MultiLabelSettings,
  ): MultiLabelClassifier {
    const b = new ParamBuilder(new Rng(s.seed), 'ML');
    b.add('hidden.w', [featureDim, s.hidden], { kind: 'normal', std: Math.sqrt(2 / featureDim) });
    b.add('hidden.b', [s.hidden], { kind: 'zeros' });
    b.add('out.w', [s.hidden, tagCount], { kind: 'normal', std: Math.sqrt(1 / s.hidden) });
    b.add('out.b', [tagCount], { kind: 'zeros' });
    const clf = new MultiLabelClassifier(b.vars, featureDim, tagCount);
    const opt = new Adam(b.vars, { learningRate: s.learningRate, beta1: 0.9, beta2: 0.999 });
    const rng = new Rng((s.seed ^ 0x3c1) >>> 0);
    try {
      for (let step = 0; step < s.steps; step++) {
        const picked = rng.ints(s.batchSize, count);
        const x = new Float32Array(s.batchSize * featureDim);
        const y = new Float32Array(s.batchSize * tagCount);
        picked.forEach((i, r) => {
          x.set(features.subarray(i * featureDim, (i + 1) * featureDim), r * featureDim);
          for (let t = 0; t < tagCount; t++) y[r * tagCount + t] = tags[i * tagCount + t] ?? 0;
        });
        const xt = tf.tensor2d(x, [s.batchSize, featureDim]);
        const yt = tf.tensor2d(y, [s.batchSize, tagCount]);
        const { value, grads } = tf.variableGrads(
          () => tf.losses.sigmoidCrossEntropy(yt, clf.logits(xt)) as tf.Scalar,
          [...b.vars.values()],
        );
        opt.apply(gradientsByName(b.vars, grads));
        tf.dispose([xt, yt, value, ...Object.values(grads)]);
      }
    } finally {
      opt.dispose();
    }
    return clf;
  }

  private logits(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => dense(this.params, 'out', tf.relu(dense(this.params, 'hidden', x))));
  }

  /** Per-tag probabilities, n × tags. */
  predict(features: Float32Array, n: number): Promise<Float32Array> {
    return takeFloats(
      tf.tidy(() => tf.sigmoid(this.logits(tf.tensor2d(features, [n, this.featureDim])))),
    );
  }

  dispose(): void {
    disposeVariables(this.params);
  }
}
