import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { ConfigError, type ConfigIssue } from './configError';
import { schemaFilePath } from './schemaPath';
import { resolveDiscriminator } from '../models/discriminatorOptions';
import { conditionInputTypesText, hasConditionInput } from '../models/modelCapabilities';
import { CONFIG_SUFFIX } from './configName';
import type { DataConfig, InstancesConfig, ModelConfig, TrainConfig } from './types';

let validator: ValidateFunction | undefined;

function getValidator(): ValidateFunction {
  if (!validator) {
    const schema: unknown = JSON.parse(fs.readFileSync(schemaFilePath(), 'utf8'));
    // useDefaults fills the documented defaults in place, so the schema is the one place they live.
    const ajv = new Ajv({ allErrors: true, useDefaults: true, discriminator: true, strict: false });
    validator = ajv.compile(schema as object);
  }
  return validator;
}

/** `/data/resolution` → `data.resolution`; array items as `classNames[2]`. */
function fieldFromPointer(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce(
      (acc, part) => (/^\d+$/.test(part) ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part),
      '',
    );
}

function join(parent: string, child: string): string {
  return parent ? `${parent}.${child}` : child;
}

function describeAjvError(err: ErrorObject): ConfigIssue {
  const field = fieldFromPointer(err.instancePath);
  const params = err.params as Record<string, unknown>;
  switch (err.keyword) {
    case 'additionalProperties':
      return { field: join(field, String(params.additionalProperty)), message: 'unknown field' };
    case 'required':
      return { field: join(field, String(params.missingProperty)), message: 'is required' };
    case 'enum':
      return {
        field,
        message: `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
      };
    case 'discriminator':
      return {
        field: join(field, String(params.tag)),
        message: 'must be one of "shapes", "folder", "idx"',
      };
    case 'type':
      return { field, message: `must be ${String(params.type)}` };
    default:
      return { field, message: err.message ?? 'is invalid' };
  }
}

/** Line and column (1-based) of a character offset, for JSON syntax errors. */
function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return `line ${line}, column ${column}`;
}

function parseJson(file: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const msg = (err as Error).message;
    const pos = /position (\d+)/.exec(msg);
    const where = pos?.[1] !== undefined ? ` at ${lineAndColumn(text, Number(pos[1]))}` : '';
    const what = msg.split(/ in JSON| at position|, "/)[0] ?? msg;
    throw new ConfigError(file, [{ field: '', message: `invalid JSON${where}: ${what}` }]);
  }
}

function defaultName(file: string): string {
  const base = path.basename(file);
  const stem = base.endsWith(CONFIG_SUFFIX)
    ? base.slice(0, -CONFIG_SUFFIX.length)
    : path.parse(base).name;
  return stem.replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '') || 'run';
}

type PathKind = 'file' | 'directory';

function checkPath(issues: ConfigIssue[], field: string, p: string, kind: PathKind): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(p);
  } catch {
    issues.push({ field, message: `${kind === 'file' ? 'file' : 'folder'} not found: ${p}` });
    return;
  }
  if (kind === 'file' && !stat.isFile()) issues.push({ field, message: `not a file: ${p}` });
  if (kind === 'directory' && !stat.isDirectory())
    issues.push({ field, message: `not a folder: ${p}` });
}

/** Resolve the data section's relative paths against the config's folder and check they exist. */
function resolveData(
  raw: Record<string, unknown>,
  baseDir: string,
  seed: number,
  issues: ConfigIssue[],
): DataConfig {
  const data = { ...raw } as Record<string, unknown>;
  switch (data.source) {
    case 'shapes':
      data.seed ??= seed;
      break;
    case 'folder':
      data.path = path.resolve(baseDir, String(data.path));
      checkPath(issues, 'data.path', data.path as string, 'directory');
      if (typeof data.sidecar === 'string') {
        data.sidecar = path.resolve(baseDir, data.sidecar);
        checkPath(issues, 'data.sidecar', data.sidecar as string, 'file');
      }
      break;
    case 'idx':
      data.images = path.resolve(baseDir, String(data.images));
      checkPath(issues, 'data.images', data.images as string, 'file');
      if (typeof data.labels === 'string') {
        data.labels = path.resolve(baseDir, data.labels);
        checkPath(issues, 'data.labels', data.labels as string, 'file');
      } else {
        data.labels = null;
      }
      data.classNames ??= null;
      data.seed ??= seed;
      break;
  }
  return data as unknown as DataConfig;
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

/** Checks a JSON value against the schema and the rules a schema can't express. */
export function resolveConfig(value: unknown, file: string): TrainConfig {
  const validate = getValidator();
  if (!validate(value)) {
    const issues = (validate.errors ?? []).map(describeAjvError);
    // allErrors reports one failure per failing keyword: keep one per field, a missing field's first.
    const missing = new Set(issues.filter((i) => i.message === 'is required').map((i) => i.field));
    const unique = issues.filter(
      (i, n) =>
        (!missing.has(i.field) || i.message === 'is required') &&
        issues.findIndex((j) => j.field === i.field && j.message === i.message) === n,
    );
    throw new ConfigError(file, unique);
  }
  const raw = value as Record<string, unknown> & {
    data: Record<string, unknown>;
    model: { type: string };
  };
  const issues: ConfigIssue[] = [];
  const baseDir = path.dirname(file);
  const seed = raw.seed as number;
  const data = resolveData(raw.data, baseDir, seed, issues);
  if (raw.model.type !== 'cgan-mlp' && !isPowerOfTwo(data.resolution)) {
    issues.push({
      field: 'data.resolution',
      message: `${data.resolution} is not a power of two, which the convolutional model '${raw.model.type}' needs`,
    });
  }
  checkCondition(raw.model as ModelConfig, data, issues);
  checkGrouping(raw.model as ModelConfig, raw.training as { batchSize: number }, issues);
  const instances = resolveInstancePaths(raw.instances as InstancesConfig, baseDir, issues);
  if (issues.length > 0) throw new ConfigError(file, issues);
  const { $schema: _schema, ...rest } = raw;
  return {
    ...(rest as unknown as Omit<TrainConfig, 'configPath' | 'name' | 'data' | 'runsDir'>),
    configPath: file,
    name: typeof raw.name === 'string' ? raw.name : defaultName(file),
    data,
    instances,
    runsDir: path.resolve(baseDir, raw.runsDir as string),
  };
}

/**
 * Batches split into whole minibatch-std groups, and PacGAN packs (dcgan only): batches a
 * multiple of each.
 */
function checkGrouping(
  model: ModelConfig,
  training: { batchSize: number },
  issues: ConfigIssue[],
): void {
  const group = model.groupSize ?? 0;
  if (
    model.type !== 'cgan-mlp' &&
    resolveDiscriminator(model.type, model).minibatchStd &&
    group > 1 &&
    training.batchSize % group !== 0
  ) {
    issues.push({
      field: 'training.batchSize',
      message: `${training.batchSize} is not a multiple of model.groupSize (${group}), the images D's minibatch statistic groups`,
    });
  }
  const pack = model.pack ?? 1;
  if (pack === 1) return;
  if (model.type !== 'dcgan') {
    issues.push({
      field: 'model.pack',
      message: `packing is for the unconditional dcgan; a '${model.type}' conditions each image on its own y`,
    });
  } else if (training.batchSize % pack !== 0) {
    issues.push({
      field: 'training.batchSize',
      message: `${training.batchSize} is not a multiple of model.pack (${pack})`,
    });
  }
}

/**
 * model.condition 'tags' or 'vector' needs a model with a y input and data that has per-image
 * tags or vectors: a folder with a sidecar, or shapes (tags only, its attributes).
 */
function checkCondition(model: ModelConfig, data: DataConfig, issues: ConfigIssue[]): void {
  if (model.condition === 'class') return;
  if (!hasConditionInput(model.type)) {
    issues.push({
      field: 'model.condition',
      message: `'${model.condition}' needs a model with a condition input (${conditionInputTypesText()}), not '${model.type}'`,
    });
    return;
  }
  if (data.source === 'idx') {
    issues.push({
      field: 'model.condition',
      message: `'${model.condition}' needs per-image ${model.condition}; an idx data set has none (use a folder with data.sidecar, or shapes for tags)`,
    });
  } else if (data.source === 'folder' && data.sidecar === undefined) {
    issues.push({
      field: 'data.sidecar',
      message: `model.condition '${model.condition}' needs a sidecar file of per-image ${model.condition}`,
    });
  } else if (data.source === 'shapes' && model.condition === 'vector') {
    issues.push({
      field: 'model.condition',
      message: "'vector' needs per-image vectors; shapes has tags only (its attributes)",
    });
  }
}

/** A user model for instance features is a path like the data's: relative to the config. */
function resolveInstancePaths(
  instances: InstancesConfig,
  baseDir: string,
  issues: ConfigIssue[],
): InstancesConfig {
  const features = instances.features;
  if (features.kind !== 'model' || typeof features.path !== 'string') return instances;
  const resolved = path.resolve(baseDir, features.path);
  if (!fs.existsSync(resolved))
    issues.push({ field: 'instances.features.path', message: `not found: ${resolved}` });
  return { ...instances, features: { ...features, path: resolved } };
}

/** Reads, validates and resolves a `*.icgan.json` file. Every problem is a ConfigError. */
export function loadConfigFile(file: string): TrainConfig {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = fs.readFileSync(abs, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'file not found'
        : code === 'EISDIR'
          ? 'is a folder, not a config file'
          : `cannot be read (${code ?? String(err)})`;
    throw new ConfigError(abs, [{ field: '', message: why }]);
  }
  return resolveConfig(parseJson(abs, text), abs);
}
