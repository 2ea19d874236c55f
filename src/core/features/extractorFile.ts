/**
 * The one file a saved feature extractor consists of: the checkpoint format (a SHA-256 over
 * everything, named float32 tensors, JSON meta) under a format tag of its own, so the weights
 * and settings needed to embed an unseen image later travel together and a damaged copy is
 * refused instead of producing silently different features.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../checkpoint/atomicWrite';
import {
  CorruptCheckpointError,
  decodeCheckpoint,
  encodeCheckpoint,
  type TensorRecord,
} from '../checkpoint/checkpointFile';
import { UserError } from '../errors';
import { resolveFeatureSettings, type FeatureSettings } from './featureSettings';

export const EXTRACTOR_FILE = 'feature-extractor.icgan';
const FORMAT = 'icgan-feature-extractor';

/** Shape of the images an extractor embeds. */
export interface ExtractorInput {
  height: number;
  width: number;
  channels: 1 | 3;
}

export interface ExtractorMeta {
  format: typeof FORMAT;
  version: 1;
  settings: FeatureSettings;
  input: ExtractorInput;
  dim: number;
}

export async function writeExtractorFile(
  dir: string,
  meta: Omit<ExtractorMeta, 'format' | 'version'>,
  tensors: readonly TensorRecord[],
): Promise<void> {
  await fs.promises.mkdir(dir, { recursive: true });
  const full: ExtractorMeta = { format: FORMAT, version: 1, ...meta };
  await writeFileAtomic(path.join(dir, EXTRACTOR_FILE), encodeCheckpoint(full, tensors));
}

export interface ExtractorFile {
  file: string;
  meta: ExtractorMeta;
  tensors: Map<string, TensorRecord>;
}

/** Reads and checks a saved extractor; every problem is a UserError naming the file. */
export async function readExtractorFile(dir: string): Promise<ExtractorFile> {
  const file = path.join(dir, EXTRACTOR_FILE);
  let buf: Buffer;
  try {
    buf = await fs.promises.readFile(file);
  } catch (err) {
    throw new UserError(`feature extractor ${file}: cannot read (${(err as Error).message})`);
  }
  let decoded: { meta: unknown; tensors: Map<string, TensorRecord> };
  try {
    decoded = decodeCheckpoint<unknown>(buf);
  } catch (err) {
    if (err instanceof CorruptCheckpointError || err instanceof SyntaxError) {
      throw new UserError(`feature extractor ${file}: ${err.message}`);
    }
    throw err;
  }
  return { file, meta: checkMeta(file, decoded.meta), tensors: decoded.tensors };
}

function checkMeta(file: string, raw: unknown): ExtractorMeta {
  const bad = (why: string): UserError => new UserError(`feature extractor ${file}: ${why}`);
  if (typeof raw !== 'object' || raw === null) throw bad('missing settings');
  const m = raw as Partial<ExtractorMeta>;
  if (m.format !== FORMAT) throw bad(`not a feature extractor (format ${String(m.format)})`);
  if (m.version !== 1) throw bad(`unsupported version ${String(m.version)}`);
  const input = m.input;
  const side = (v: unknown): boolean => Number.isInteger(v) && (v as number) > 0;
  if (!input || !side(input.height) || !side(input.width) || ![1, 3].includes(input.channels)) {
    throw bad('bad input shape');
  }
  if (!side(m.dim)) throw bad(`bad feature dimension ${String(m.dim)}`);
  let settings: FeatureSettings;
  try {
    settings = resolveFeatureSettings(m.settings as FeatureSettings);
  } catch (err) {
    throw bad(`bad settings (${(err as Error).message})`);
  }
  return { format: FORMAT, version: 1, settings, input, dim: m.dim as number };
}

/** The dimension the settings imply must be the one recorded. */
export function expectDim(f: ExtractorFile, dim: number): void {
  if (f.meta.dim !== dim) {
    throw new UserError(
      `feature extractor ${f.file}: records dimension ${f.meta.dim} but its settings give ${dim}`,
    );
  }
}

/**
 * Checks that the file holds exactly the tensors `expected` (name → shape) and returns them in
 * that order: a file from a different architecture must not load into this one.
 */
export function expectTensors(
  f: ExtractorFile,
  expected: ReadonlyMap<string, readonly number[]>,
): Map<string, TensorRecord> {
  for (const [name, shape] of expected) {
    const t = f.tensors.get(name);
    if (!t) throw new UserError(`feature extractor ${f.file}: tensor '${name}' is missing`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new UserError(
        `feature extractor ${f.file}: tensor '${name}' has shape [${t.shape.join(', ')}], ` +
          `expected [${shape.join(', ')}]`,
      );
    }
  }
  for (const name of f.tensors.keys()) {
    if (!expected.has(name)) {
      throw new UserError(`feature extractor ${f.file}: unexpected tensor '${name}'`);
    }
  }
  return new Map([...expected.keys()].map((name) => [name, f.tensors.get(name) as TensorRecord]));
}
