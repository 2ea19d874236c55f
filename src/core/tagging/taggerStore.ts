import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../checkpoint/atomicWrite';
import {
  CorruptCheckpointError,
  decodeCheckpoint,
  encodeCheckpoint,
  type TensorRecord,
} from '../checkpoint/checkpointFile';
import { assignAll, weightPrefix } from '../checkpoint/checkpointTensors';
import type { TaggingConfig } from '../config/types';
import { UserError } from '../errors';
import { disposeVariables } from '../models/paramStore';
import { readFloats } from '../backend/tensorRead';
import { Rng } from '../random/rng';
import type { TagEmbeddingKind, TagEmbeddings } from './tagEmbeddings';
import { TagGan, type TagGanShape } from './tagGan';

/** Where a run keeps its tagger, next to its checkpoints. */
export const TAGGER_FILE = path.join('tagger', 'tagger.ckpt');

interface TaggerMeta {
  kind: 'tagger';
  tagNames: string[];
  embedding: TagEmbeddingKind;
  embedDim: number;
  shape: TagGanShape;
  settings: TaggingConfig;
  /** Images it was trained on (the run's instances with at least one tag). */
  images: number;
  time: string;
}

/** A trained tagger: the averaged generator and the tag vectors it aims at. */
export interface Tagger {
  gan: TagGan;
  embeddings: TagEmbeddings;
  settings: TaggingConfig;
  file: string;
  dispose(): void;
}

export async function saveTagger(
  runDir: string,
  gan: TagGan,
  embeddings: TagEmbeddings,
  settings: TaggingConfig,
  images: number,
): Promise<string> {
  const file = path.join(runDir, TAGGER_FILE);
  const meta: TaggerMeta = {
    kind: 'tagger',
    tagNames: embeddings.names,
    embedding: embeddings.kind,
    embedDim: embeddings.dim,
    shape: gan.shape,
    settings,
    images,
    time: new Date().toISOString(),
  };
  const tensors: TensorRecord[] = [
    {
      name: 'embeddings',
      shape: [embeddings.names.length, embeddings.dim],
      data: embeddings.vectors,
    },
    ...(await Promise.all(
      [...gan.ema].map(async ([name, v]) => ({
        name: weightPrefix('G') + name,
        shape: v.shape,
        data: await readFloats(v),
      })),
    )),
  ];
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  await writeFileAtomic(file, encodeCheckpoint(meta, tensors));
  return file;
}

/** The run's tagger, or null when it has none yet; a damaged file is an error naming it. */
export function loadTagger(runDir: string): Tagger | null {
  const file = path.join(runDir, TAGGER_FILE);
  if (!fs.existsSync(file)) return null;
  let decoded;
  try {
    decoded = decodeCheckpoint<TaggerMeta>(fs.readFileSync(file));
  } catch (err) {
    const why = err instanceof CorruptCheckpointError ? err.message : String(err);
    throw new UserError(`${file}: the tagger cannot be read (${why}); run again with --retrain`);
  }
  const { meta, tensors } = decoded;
  if (meta.kind !== 'tagger') throw new UserError(`${file}: not a tagger`);
  const vectors = tensors.get('embeddings');
  if (!vectors || vectors.data.length !== meta.tagNames.length * meta.embedDim) {
    throw new UserError(
      `${file}: the tagger has no valid tag embeddings; run again with --retrain`,
    );
  }
  const gan = new TagGan(meta.shape, new Rng(0));
  // Only the averaged generator is stored and used.
  disposeVariables(gan.discriminator);
  gan.discriminator.clear();
  disposeVariables(gan.generator);
  gan.generator.clear();
  try {
    assignAll(gan.ema, tensors, weightPrefix('G'));
  } catch (err) {
    gan.dispose();
    throw new UserError(`${file}: ${(err as Error).message}; run again with --retrain`);
  }
  return {
    gan,
    embeddings: {
      kind: meta.embedding,
      names: meta.tagNames,
      dim: meta.embedDim,
      vectors: vectors.data,
    },
    settings: meta.settings,
    file,
    dispose: () => gan.dispose(),
  };
}
