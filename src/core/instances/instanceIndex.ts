import * as fs from 'node:fs';
import { writeFileAtomic } from '../checkpoint/atomicWrite';
import {
  CorruptCheckpointError,
  decodeCheckpoint,
  encodeCheckpoint,
} from '../checkpoint/checkpointFile';
import { UserError } from '../errors';
import { cosineKnn } from '../neighbours/nativeKnn';
import { sphericalKmeans } from '../neighbours/kmeans';

/**
 * Everything IC-GAN knows about the training instances: their L2-normalised features h_i, the
 * neighbourhoods A_i (k nearest by cosine, the instance itself excluded), the distance to the k-th
 * neighbour, and a few representative instances (the sample nearest each k-means centroid) for
 * galleries. Computed once per run and stored in the run folder, so generation, neighbour look-ups
 * and the dashboard never recompute it.
 */
export interface InstanceIndex {
  count: number;
  dim: number;
  k: number;
  features: Float32Array;
  neighbours: Int32Array;
  kthDistance: Float32Array;
  representatives: Int32Array;
  /** Class of every instance when the data set has labels (to show, or to condition on, later). */
  labels: Int32Array | null;
  /**
   * Dense y of every instance (its tags or vector, count × conditionDim) for models conditioned on
   * them, so sampling from a run pairs an instance with its own tags without the data set.
   */
  conditions: Float32Array | null;
  conditionDim: number;
}

export interface IndexSettings {
  k: number;
  representatives: number;
  seed: number;
}

/** Neighbourhoods and representatives; the search runs on ONNX Runtime when it is installed. */
export async function buildInstanceIndex(
  features: Float32Array,
  count: number,
  dim: number,
  s: IndexSettings,
  labels: Int32Array | null = null,
  conditions: { rows: Float32Array; dim: number } | null = null,
): Promise<InstanceIndex & { engine: string }> {
  const knn = await cosineKnn(features, count, dim, s.k);
  const clusters = Math.min(s.representatives, count);
  const { representatives } = await sphericalKmeans(features, count, dim, clusters, s.seed);
  return {
    count,
    dim,
    k: s.k,
    features,
    neighbours: knn.indices,
    kthDistance: knn.kthDistance,
    representatives,
    labels,
    conditions: conditions?.rows ?? null,
    conditionDim: conditions?.dim ?? 0,
    engine: knn.fallbackReason ? `${knn.engine}: ${knn.fallbackReason}` : knn.engine,
  };
}

interface IndexMeta {
  kind: 'instance-index';
  count: number;
  dim: number;
  k: number;
}

// Indices travel as float32 in the checkpoint format: exact for values below 2^24.
const MAX_EXACT_INDEX = 2 ** 24;

export async function saveInstanceIndex(file: string, index: InstanceIndex): Promise<void> {
  if (index.count >= MAX_EXACT_INDEX)
    throw new Error(`instance index: ${index.count} instances is over ${MAX_EXACT_INDEX}`);
  const meta: IndexMeta = {
    kind: 'instance-index',
    count: index.count,
    dim: index.dim,
    k: index.k,
  };
  const buf = encodeCheckpoint(meta, [
    { name: 'features', shape: [index.count, index.dim], data: index.features },
    {
      name: 'neighbours',
      shape: [index.count, index.k],
      data: Float32Array.from(index.neighbours),
    },
    { name: 'kthDistance', shape: [index.count], data: index.kthDistance },
    ...(index.labels
      ? [{ name: 'labels', shape: [index.count], data: Float32Array.from(index.labels) }]
      : []),
    ...(index.conditions
      ? [
          {
            name: 'conditions',
            shape: [index.count, index.conditionDim],
            data: index.conditions,
          },
        ]
      : []),
    {
      name: 'representatives',
      shape: [index.representatives.length],
      data: Float32Array.from(index.representatives),
    },
  ]);
  await writeFileAtomic(file, buf);
}

export function loadInstanceIndex(file: string): InstanceIndex {
  let decoded;
  try {
    decoded = decodeCheckpoint<IndexMeta>(fs.readFileSync(file));
  } catch (err) {
    const why =
      err instanceof CorruptCheckpointError
        ? err.message
        : ((err as NodeJS.ErrnoException).code ?? String(err));
    throw new UserError(`${file}: instance index cannot be read (${why})`);
  }
  const { meta, tensors } = decoded;
  const get = (name: string, size: number): Float32Array => {
    const t = tensors.get(name);
    if (!t || t.data.length !== size)
      throw new UserError(`${file}: instance index has no valid '${name}'`);
    return t.data;
  };
  if (meta.kind !== 'instance-index') throw new UserError(`${file}: not an instance index`);
  const representatives = tensors.get('representatives')?.data ?? new Float32Array(0);
  const conditionRows = tensors.get('conditions');
  if (conditionRows && conditionRows.shape[0] !== meta.count)
    throw new UserError(`${file}: instance index has no valid 'conditions'`);
  return {
    count: meta.count,
    dim: meta.dim,
    k: meta.k,
    features: get('features', meta.count * meta.dim),
    neighbours: Int32Array.from(get('neighbours', meta.count * meta.k)),
    kthDistance: get('kthDistance', meta.count),
    representatives: Int32Array.from(representatives),
    labels: tensors.has('labels') ? Int32Array.from(get('labels', meta.count)) : null,
    conditions: conditionRows?.data ?? null,
    conditionDim: conditionRows?.shape[1] ?? 0,
  };
}
