import * as path from 'node:path';
import { UserError } from '../errors';

/**
 * Per-image conditions from a sidecar file next to a folder data set: tags (multi-label) and/or a
 * numeric vector (data from another modality: an embedding, measurements). The cGAN paper's y is
 * "any kind of auxiliary information"; this is where it comes from for real data.
 *
 * JSON — an object keyed by the image's path relative to the data folder:
 *   { "cats/001.png": { "tags": ["tabby", "indoor"], "vector": [0.1, 0.7] }, ... }
 * CSV — a header row, then one row per image:
 *   file,tags,v1,v2
 *   cats/001.png,tabby;indoor,0.1,0.7
 * `tags` holds ';'-separated tags (may be empty); columns after it (any names) form the vector.
 * Either part may be absent, but every entry must have the same parts and vector length.
 */
export interface SidecarEntry {
  tags: string[];
  vector: number[] | null;
}

export interface Sidecar {
  file: string;
  /** Keyed by the image path relative to the data folder, with '/' separators. */
  entries: Map<string, SidecarEntry>;
  vectorDim: number;
}

const TAG = /^[\p{L}\p{N}][\p{L}\p{N} _.:-]*$/u;

function fail(file: string, where: string, message: string): never {
  throw new UserError(`${file}${where}: ${message}`);
}

function normaliseKey(key: string): string {
  return key
    .split(/[\\/]+/)
    .filter(Boolean)
    .join('/');
}

function checkTags(file: string, where: string, tags: unknown): string[] {
  if (!Array.isArray(tags)) fail(file, where, `"tags" must be a list of strings`);
  const out: string[] = [];
  for (const t of tags) {
    if (typeof t !== 'string' || !TAG.test(t.trim())) {
      fail(file, where, `tag ${JSON.stringify(t)} is not a tag (letters, digits, space, _ . : -)`);
    }
    if (!out.includes(t.trim())) out.push(t.trim());
  }
  return out;
}

function checkVector(file: string, where: string, v: unknown): number[] {
  if (!Array.isArray(v) || v.length === 0)
    fail(file, where, `"vector" must be a non-empty list of numbers`);
  return v.map((x, i) => {
    if (typeof x !== 'number' || !Number.isFinite(x)) {
      fail(file, where, `vector[${i}] is ${JSON.stringify(x)}, not a finite number`);
    }
    return x;
  });
}

/** Line of a key in JSON text, for errors that point at an entry. */
function lineOf(text: string, key: string): number {
  const at = text.indexOf(JSON.stringify(key));
  return at < 0 ? 0 : text.slice(0, at).split('\n').length;
}

function parseJson(file: string, text: string): Map<string, SidecarEntry> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    fail(file, '', `not valid JSON (${(err as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(file, '', 'must be an object keyed by image path');
  }
  const entries = new Map<string, SidecarEntry>();
  for (const [key, raw] of Object.entries(value as Record<string, unknown>)) {
    const where = `:${lineOf(text, key)} (${key})`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      fail(file, where, 'each entry must be an object with "tags" and/or "vector"');
    }
    const r = raw as Record<string, unknown>;
    const unknown = Object.keys(r).filter((k) => k !== 'tags' && k !== 'vector');
    if (unknown.length > 0) fail(file, where, `unknown field "${unknown[0]}"`);
    entries.set(normaliseKey(key), {
      tags: r.tags === undefined ? [] : checkTags(file, where, r.tags),
      vector: r.vector === undefined ? null : checkVector(file, where, r.vector),
    });
  }
  return entries;
}

/** Splits one CSV line; double-quoted fields may hold commas and "" for a quote. */
function csvFields(line: string): string[] | null {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      out.push(field);
      field = '';
    } else field += c;
  }
  if (quoted) return null;
  out.push(field);
  return out.map((f) => f.trim());
}

function parseCsv(file: string, text: string): Map<string, SidecarEntry> {
  const lines = text.split(/\r?\n/);
  const header = csvFields(lines[0] ?? '');
  if (!header || header[0]?.toLowerCase() !== 'file') {
    fail(file, ':1', 'the header must start with a "file" column');
  }
  const hasTags = header[1]?.toLowerCase() === 'tags';
  const vectorColumns = header.length - (hasTags ? 2 : 1);
  if (!hasTags && vectorColumns === 0) {
    fail(file, ':1', 'the header needs a "tags" column and/or vector columns after "file"');
  }
  const entries = new Map<string, SidecarEntry>();
  lines.slice(1).forEach((line, i) => {
    const where = `:${i + 2}`;
    if (line.trim() === '') return;
    const fields = csvFields(line);
    if (!fields) fail(file, where, 'unterminated quoted field');
    if (fields.length !== header.length) {
      fail(file, where, `${fields.length} fields, the header has ${header.length}`);
    }
    const key = normaliseKey(fields[0] ?? '');
    if (key === '') fail(file, where, 'empty file name');
    if (entries.has(key)) fail(file, where, `${key} is listed twice`);
    const tags = hasTags
      ? checkTags(
          file,
          where,
          (fields[1] ?? '')
            .split(';')
            .map((t) => t.trim())
            .filter((t) => t !== ''),
        )
      : [];
    let vector: number[] | null = null;
    if (vectorColumns > 0) {
      const cells = fields.slice(hasTags ? 2 : 1);
      vector = cells.map((c, j) => {
        const x = Number(c);
        if (c === '' || !Number.isFinite(x)) {
          fail(
            file,
            where,
            `column "${header[(hasTags ? 2 : 1) + j]}" is ${JSON.stringify(c)}, not a number`,
          );
        }
        return x;
      });
    }
    entries.set(key, { tags, vector });
  });
  return entries;
}

/** Parses a sidecar (format by extension: .json or .csv); every problem names the file and line. */
export function parseSidecar(file: string, text: string): Sidecar {
  const ext = path.extname(file).toLowerCase();
  if (ext !== '.json' && ext !== '.csv') {
    fail(file, '', 'a sidecar must be a .json or .csv file');
  }
  const entries = ext === '.json' ? parseJson(file, text) : parseCsv(file, text);
  if (entries.size === 0) fail(file, '', 'has no entries');
  const dims = new Set([...entries.values()].map((e) => e.vector?.length ?? 0));
  if (dims.size > 1) {
    const [first, second] = [...dims];
    const key = [...entries].find(([, e]) => (e.vector?.length ?? 0) !== first)?.[0] ?? '?';
    fail(file, ` (${key})`, `vectors of different lengths (${first} and ${second})`);
  }
  return { file, entries, vectorDim: [...dims][0] ?? 0 };
}

export interface ImageConditions {
  /** Sorted tag vocabulary. */
  tagNames: string[];
  /** count × tagNames.length multi-hot, image after image (0/1). */
  tags: Uint8Array;
  vectorDim: number;
  /** count × vectorDim; zeros for images without an entry. */
  vectors: Float32Array;
  /** Images (relative paths) the sidecar has no entry for. */
  missing: string[];
  /** Sidecar entries that match no image. */
  unmatched: string[];
}

/** Lines the sidecar's entries up with the data set's images (relative paths, dataset order). */
export function conditionsFor(sidecar: Sidecar, images: readonly string[]): ImageConditions {
  const keys = images.map(normaliseKey);
  const tagNames = [...new Set([...sidecar.entries.values()].flatMap((e) => e.tags))].sort();
  const column = new Map(tagNames.map((t, i) => [t, i]));
  const tags = new Uint8Array(images.length * tagNames.length);
  const vectors = new Float32Array(images.length * sidecar.vectorDim);
  const missing: string[] = [];
  keys.forEach((key, i) => {
    const entry = sidecar.entries.get(key);
    if (!entry) {
      missing.push(images[i] ?? key);
      return;
    }
    for (const t of entry.tags) tags[i * tagNames.length + (column.get(t) ?? 0)] = 1;
    if (entry.vector) vectors.set(entry.vector, i * sidecar.vectorDim);
  });
  const present = new Set(keys);
  const unmatched = [...sidecar.entries.keys()].filter((k) => !present.has(k));
  return { tagNames, tags, vectorDim: sidecar.vectorDim, vectors, missing, unmatched };
}
