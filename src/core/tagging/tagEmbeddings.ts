import * as tf from '@tensorflow/tfjs-core';
import { gradientsByName, ParamBuilder, param, disposeVariables } from '../models/paramStore';
import { Rng } from '../random/rng';
import { takeFloats } from '../backend/tensorRead';
import { Adam } from '../train/adam';

/**
 * Vectors for tags, the "words" the image→tags generator produces. The cGAN paper used a
 * skip-gram model trained on user tags and captions; here it is trained on the data set's own tag
 * co-occurrences (each image's tag set is a "sentence"), so nothing is downloaded. One-hot is the
 * baseline: every tag orthogonal to every other.
 */
export type TagEmbeddingKind = 'skipgram' | 'onehot';

export interface TagEmbeddings {
  kind: TagEmbeddingKind;
  names: string[];
  dim: number;
  /** names.length × dim, every row L2-normalised. */
  vectors: Float32Array;
}

export interface SkipGramOptions {
  dim: number;
  steps: number;
  /** (tag, context) pairs per step. */
  batchSize: number;
  /** Negative samples per pair, drawn from the unigram distribution to the 3/4 power. */
  negatives: number;
  learningRate: number;
  seed: number;
}

export function oneHotEmbeddings(names: readonly string[]): TagEmbeddings {
  const n = names.length;
  const vectors = new Float32Array(n * n);
  for (let i = 0; i < n; i++) vectors[i * n + i] = 1;
  return { kind: 'onehot', names: [...names], dim: n, vectors };
}

/** Tags of each image (lists of tag indices) from a count × T multi-hot matrix. */
export function tagLists(tags: Uint8Array | Float32Array, count: number, t: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < count; i++) {
    const list: number[] = [];
    for (let j = 0; j < t; j++) if (tags[i * t + j]) list.push(j);
    out.push(list);
  }
  return out;
}

/**
 * Skip-gram with negative sampling (Mikolov et al. 2013) over tag co-occurrence: for every pair of
 * tags of one image, σ(u_t · v_c) is pushed up and σ(u_t · v_n) down for random tags n. Tags that
 * appear with the same others end up close; the input vectors u, normalised, are the embedding.
 */
export async function skipGramEmbeddings(
  names: readonly string[],
  lists: readonly number[][],
  o: SkipGramOptions,
): Promise<TagEmbeddings> {
  const t = names.length;
  const pairs: [number, number][] = [];
  const counts = new Float64Array(t);
  for (const list of lists) {
    for (const a of list) {
      counts[a] = (counts[a] ?? 0) + 1;
      for (const b of list) if (a !== b) pairs.push([a, b]);
    }
  }
  if (pairs.length === 0) {
    throw new Error('skip-gram tag embeddings need images with at least two tags');
  }
  // Unigram^(3/4) as a cumulative table for negative sampling.
  const weights = Array.from(counts, (c) => c ** 0.75);
  const total = weights.reduce((a, b) => a + b, 0);
  const cumulative = new Float64Array(t);
  weights.reduce((acc, w, i) => (cumulative[i] = acc + w / total), 0);
  const rng = new Rng(o.seed);
  const b = new ParamBuilder(rng, 'SG');
  b.add('in', [t, o.dim], { kind: 'normal', std: 0.1 });
  b.add('out', [t, o.dim], { kind: 'normal', std: 0.1 });
  const vars = b.vars;
  const opt = new Adam(vars, { learningRate: o.learningRate, beta1: 0.9, beta2: 0.999 });
  const sampleNegative = (): number => {
    const u = rng.uniform();
    let lo = 0;
    let hi = t - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cumulative[mid] ?? 1) < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  try {
    for (let s = 0; s < o.steps; s++) {
      const picked = rng.ints(o.batchSize, pairs.length);
      const centre = new Float32Array(o.batchSize * t);
      const targets = new Float32Array(o.batchSize * (1 + o.negatives) * t);
      const signs = new Float32Array(o.batchSize * (1 + o.negatives));
      picked.forEach((p, i) => {
        const [a, c] = pairs[p] as [number, number];
        centre[i * t + a] = 1;
        for (let k = 0; k <= o.negatives; k++) {
          const row = i * (1 + o.negatives) + k;
          targets[row * t + (k === 0 ? c : sampleNegative())] = 1;
          signs[row] = k === 0 ? 1 : -1;
        }
      });
      const { value, grads } = tf.variableGrads(() => {
        // One-hot products instead of gathers: gather's gradient is missing on WASM.
        const u = tf.matMul(
          tf.tensor2d(centre, [o.batchSize, t]),
          param(vars, 'in') as tf.Tensor2D,
        );
        const v = tf.matMul(
          tf.tensor2d(targets, [o.batchSize * (1 + o.negatives), t]),
          param(vars, 'out') as tf.Tensor2D,
        );
        const uRepeated = tf.reshape(
          tf.tile(tf.reshape(u, [o.batchSize, 1, o.dim]), [1, 1 + o.negatives, 1]),
          [-1, o.dim],
        );
        const logits = tf.sum(tf.mul(uRepeated, v), 1);
        // −log σ(sign · logit), summed over a pair's positive and negatives, averaged over pairs.
        return tf.div(
          tf.sum(tf.softplus(tf.neg(tf.mul(logits, tf.tensor1d(signs))))),
          o.batchSize,
        ) as tf.Scalar;
      }, [...vars.values()]);
      opt.apply(gradientsByName(vars, grads));
      tf.dispose([value, ...Object.values(grads)]);
    }
    const vectors = await takeFloats(
      tf.tidy(() => {
        const u = param(vars, 'in');
        return tf.div(u, tf.add(tf.norm(u, 'euclidean', 1, true), 1e-12));
      }),
    );
    return { kind: 'skipgram', names: [...names], dim: o.dim, vectors: Float32Array.from(vectors) };
  } finally {
    opt.dispose();
    disposeVariables(vars);
  }
}
