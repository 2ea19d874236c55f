import * as fs from 'node:fs';
import { UserError } from '../errors';
import type { CheckpointMeta } from '../checkpoint/checkpointTensors';

/**
 * What the user asks a tags- or vector-conditioned run to generate, from the CLI (`--tags`,
 * `--add-tags`, `--condition`), the dashboard's tag picker or the runner protocol.
 */
export interface ConditionRequest {
  /** Every image gets exactly these tags (replacing its row's own). */
  tags?: string[];
  /** Tags added to each row's own (an instance's, or the grid's example image's). */
  addTags?: string[];
  /** A JSON file: a list of numbers (a vector), {"vector": [...]}, or {"tags": [...]}. */
  conditionFile?: string;
}

export function hasConditionRequest(r: ConditionRequest): boolean {
  return r.tags !== undefined || r.addTags !== undefined || r.conditionFile !== undefined;
}

/** The run's tag vocabulary; an error names the flag when the run is not conditioned on tags. */
export function runTagNames(meta: CheckpointMeta, flag: string): string[] {
  if (meta.condition !== 'tags' || !meta.tagNames) {
    throw new UserError(
      `${flag}: this run's model (${meta.modelType}) is conditioned on ${describeCondition(meta)}, not on tags`,
    );
  }
  return meta.tagNames;
}

function describeCondition(meta: CheckpointMeta): string {
  if ((meta.conditionDim ?? 0) > 0) return `a vector of ${meta.conditionDim}`;
  if (meta.numClasses > 0) return 'a class';
  return meta.featureDim > 0 ? 'instances only' : 'nothing';
}

/** Splits "red, circle" / ["red", "circle"] into trimmed, non-empty tags. */
export function splitTags(value: string | readonly string[]): string[] {
  const parts = typeof value === 'string' ? value.split(',') : [...value];
  return parts.map((t) => t.trim()).filter((t) => t !== '');
}

/** Multi-hot row for `tags`; an unknown tag is an error listing the known ones. */
export function tagsRow(meta: CheckpointMeta, tags: readonly string[], flag: string): Float32Array {
  const names = runTagNames(meta, flag);
  const row = new Float32Array(names.length);
  for (const tag of tags) {
    const at = names.indexOf(tag);
    if (at < 0) {
      throw new UserError(`${flag}: unknown tag '${tag}' (known: ${names.join(', ')})`);
    }
    row[at] = 1;
  }
  return row;
}

/** Reads a `--condition` file into a y row of the run's size. */
export function conditionFileRow(meta: CheckpointMeta, file: string): Float32Array {
  const dim = meta.conditionDim ?? 0;
  if (dim === 0) {
    throw new UserError(
      `--condition: this run's model (${meta.modelType}) is conditioned on ${describeCondition(meta)}, not on tags or a vector`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new UserError(
      `--condition ${file}: ${e.code === 'ENOENT' ? 'file not found' : e.code ? `cannot be read (${e.code})` : `not valid JSON (${e.message})`}`,
    );
  }
  const object =
    typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  if (object && 'tags' in object) {
    if (!Array.isArray(object.tags) || !object.tags.every((t) => typeof t === 'string')) {
      throw new UserError(`--condition ${file}: "tags" must be a list of strings`);
    }
    return tagsRow(meta, splitTags(object.tags as string[]), `--condition ${file}`);
  }
  const vector = object ? object.vector : value;
  if (!Array.isArray(vector) || !vector.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw new UserError(
      `--condition ${file}: expected a list of ${dim} numbers, {"vector": [...]} or {"tags": [...]}`,
    );
  }
  if (vector.length !== dim) {
    throw new UserError(
      `--condition ${file}: the vector has ${vector.length} numbers; this run's model takes ${dim}`,
    );
  }
  return Float32Array.from(vector as number[]);
}

/**
 * Applies a request to n rows of y (n × dim, each row an image's default condition): replaces
 * every row with the requested tags or vector, or adds tags to each row. Returns new rows.
 */
export function applyConditionRequest(
  meta: CheckpointMeta,
  rows: Float32Array,
  n: number,
  request: ConditionRequest,
): Float32Array {
  const dim = meta.conditionDim ?? 0;
  const out = Float32Array.from(rows);
  if (request.tags !== undefined && request.conditionFile !== undefined) {
    throw new UserError('give one of --tags and --condition, not both');
  }
  const replacement =
    request.tags !== undefined
      ? tagsRow(meta, request.tags, '--tags')
      : request.conditionFile !== undefined
        ? conditionFileRow(meta, request.conditionFile)
        : null;
  if (replacement) for (let i = 0; i < n; i++) out.set(replacement, i * dim);
  if (request.addTags !== undefined) {
    const added = tagsRow(meta, request.addTags, '--add-tags');
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < dim; j++) if (added[j]) out[i * dim + j] = 1;
    }
  }
  return out;
}
