/**
 * A model the user brings, as files: its model.json and weight files, read once into memory and
 * hashed. The bytes that are hashed (the settings' `modelHash`, hence the feature cache key) are
 * the bytes that are loaded and the bytes a saved extractor copies. TensorFlow only as types, so
 * the feature settings can hash a model without loading one.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../errors';

export const MODEL_JSON = 'model.json';
/** Where a saved extractor keeps its copy of the model, and the copy's list of file hashes. */
export const MODEL_COPY_DIR = 'model';
export const MODEL_FILES_LIST = 'model-files.json';
/** Bump if the hash's definition changes: it is part of every model feature cache key. */
const HASH_VERSION = 'icgan-model-files/1';

export interface ModelFile {
  /** Relative to the model's folder, '/'-separated; model.json is always `model.json`. */
  name: string;
  bytes: Buffer;
  sha256: string;
}

/** A model's files as read from disk, model.json first, then the weights in manifest order. */
export interface ModelFiles {
  jsonFile: string;
  json: tf.io.ModelJSON;
  format: 'layers' | 'graph';
  files: ModelFile[];
  /** SHA-256 over every file's name and SHA-256: what `modelHash` records. */
  hash: string;
}

/**
 * Reads a model (`modelPath`: model.json, any *.json, or the folder holding model.json) and
 * its weight files. Problems are UserErrors; `where` names the setting or saved extractor.
 */
export function readModelFiles(modelPath: string, where: string): ModelFiles {
  const jsonFile = locateModelJson(modelPath, where);
  const text = readOrFail(jsonFile, `${where}: cannot read ${jsonFile}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.toString('utf8'));
  } catch (err) {
    throw new UserError(`${where}: ${jsonFile} is not valid JSON (${(err as Error).message})`);
  }
  const json = checkModelJson(parsed, jsonFile, where);
  const folder = path.dirname(jsonFile);
  const files: ModelFile[] = [{ name: MODEL_JSON, bytes: text, sha256: sha256(text) }];
  for (const group of json.weightsManifest) {
    for (const p of group.paths) {
      const name = weightFileName(p, jsonFile, where);
      const file = path.join(folder, ...name.split('/'));
      const bytes = readOrFail(file, `${where}: weight file ${name} of ${jsonFile}`);
      files.push({ name, bytes, sha256: sha256(bytes) });
    }
  }
  const format = formatOf(json);
  return { jsonFile, json, format, files, hash: combinedHash(files) };
}

/** The `modelHash` of the model at `modelPath` (see readModelFiles). */
export function modelFilesHash(modelPath: string, where: string): string {
  return readModelFiles(modelPath, where).hash;
}

function locateModelJson(modelPath: string, where: string): string {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(modelPath);
  } catch {
    throw new UserError(`${where}: ${modelPath} does not exist`);
  }
  if (!stat.isDirectory()) return modelPath;
  const file = path.join(modelPath, MODEL_JSON);
  if (!fs.existsSync(file)) {
    throw new UserError(`${where}: the folder ${modelPath} has no ${MODEL_JSON}`);
  }
  return file;
}

function readOrFail(file: string, what: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(
      code === 'ENOENT'
        ? `${what} is missing (${file})`
        : `${what}: cannot read (${(err as Error).message})`,
    );
  }
}

function checkModelJson(raw: unknown, jsonFile: string, where: string): tf.io.ModelJSON {
  const bad = (why: string): UserError =>
    new UserError(`${where}: ${jsonFile} is not a TensorFlow.js model.json (${why})`);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad('not an object');
  const m = raw as Record<string, unknown>;
  if (typeof m.modelTopology !== 'object' || m.modelTopology === null) {
    throw bad('no modelTopology');
  }
  const manifest = m.weightsManifest;
  if (!Array.isArray(manifest)) throw bad('no weightsManifest');
  for (const group of manifest as unknown[]) {
    const g = group as { paths?: unknown; weights?: unknown } | null;
    const paths = g?.paths;
    if (!Array.isArray(paths) || paths.some((p) => typeof p !== 'string')) {
      throw bad('a weightsManifest group has no list of paths');
    }
    if (!Array.isArray(g?.weights)) throw bad('a weightsManifest group has no list of weights');
  }
  return raw as tf.io.ModelJSON;
}

/**
 * A weight path as a name inside the model's folder. Paths that leave the folder are refused:
 * the copy in a saved extractor must hold every file the model reads.
 */
function weightFileName(p: string, jsonFile: string, where: string): string {
  const name = path.posix.normalize(p.replace(/\\/g, '/'));
  if (p === '' || path.isAbsolute(p) || name === '..' || name.startsWith('../')) {
    throw new UserError(
      `${where}: ${jsonFile} lists the weight file '${p}', which is not inside the model's folder`,
    );
  }
  return name;
}

function formatOf(json: tf.io.ModelJSON): 'layers' | 'graph' {
  if (json.format === 'graph-model') return 'graph';
  if (json.format === 'layers-model') return 'layers';
  // Older converters wrote no format: a graph's topology is a GraphDef, a list of nodes.
  return Array.isArray((json.modelTopology as { node?: unknown }).node) ? 'graph' : 'layers';
}

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The hash over the files' names and SHA-256s that `modelHash` records. */
export function combinedHash(files: readonly Pick<ModelFile, 'name' | 'sha256'>[]): string {
  return sha256(`${HASH_VERSION}\n${files.map((f) => `${f.name}\t${f.sha256}\n`).join('')}`);
}
