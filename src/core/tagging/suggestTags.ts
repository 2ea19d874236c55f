import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../random/rng';
import { takeFloats } from '../backend/tensorRead';
import type { TagEmbeddings } from './tagEmbeddings';
import type { TagGan } from './tagGan';

export interface TagSuggestion {
  tag: string;
  /** Fraction of the generated vectors that voted for the tag. */
  score: number;
  /** Mean cosine similarity of the voting vectors to the tag's embedding. */
  similarity: number;
}

export interface SuggestOptions {
  /** Tag vectors generated per image (the paper: 100). */
  samples: number;
  /** Nearest tags each generated vector votes for (the paper: 20, from a large vocabulary). */
  nearestPerSample: number;
  seed: number;
}

/**
 * Tags for each of n images: `samples` vectors from G(z, h), each voting for its nearest tags by
 * cosine similarity; tags ranked by votes (ties by similarity). Votes estimate how much of G's
 * distribution for this image sits on each tag, so one image yields several plausible tags.
 */
export async function suggestTags(
  gan: TagGan,
  embeddings: TagEmbeddings,
  features: Float32Array,
  n: number,
  o: SuggestOptions,
): Promise<TagSuggestion[][]> {
  const { featureDim: f, zDim } = gan.shape;
  const t = embeddings.names.length;
  const per = Math.min(o.nearestPerSample, t);
  const rng = new Rng(o.seed);
  const out: TagSuggestion[][] = [];
  const table = tf.tensor2d(embeddings.vectors, [t, embeddings.dim]);
  try {
    for (let image = 0; image < n; image++) {
      const cos = await takeFloats(
        tf.tidy(() => {
          const h = tf.tile(tf.tensor2d(features.subarray(image * f, (image + 1) * f), [1, f]), [
            o.samples,
            1,
          ]);
          const v = gan.generate(
            gan.ema,
            tf.tensor2d(rng.normals(o.samples * zDim), [o.samples, zDim]),
            h,
          );
          return tf.matMul(v, table, false, true);
        }),
      );
      const votes = new Float64Array(t);
      const similarity = new Float64Array(t);
      const order = Array.from({ length: t }, (_, j) => j);
      for (let s = 0; s < o.samples; s++) {
        const row = cos.subarray(s * t, (s + 1) * t);
        order.sort((a, b) => (row[b] ?? 0) - (row[a] ?? 0));
        for (let r = 0; r < per; r++) {
          const j = order[r] as number;
          votes[j] = (votes[j] ?? 0) + 1;
          similarity[j] = (similarity[j] ?? 0) + (row[j] ?? 0);
        }
      }
      const ranked = Array.from({ length: t }, (_, j) => ({
        tag: embeddings.names[j] as string,
        score: (votes[j] ?? 0) / o.samples,
        similarity: (votes[j] ?? 0) > 0 ? (similarity[j] ?? 0) / (votes[j] ?? 1) : 0,
      })).sort((a, b) => b.score - a.score || b.similarity - a.similarity);
      out.push(ranked);
    }
  } finally {
    table.dispose();
  }
  return out;
}
