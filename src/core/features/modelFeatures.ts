/**
 * Features from a model the user brings: a TensorFlow.js layers or graph model on disk
 * (model.json and its weight files), read at one named layer or node (IC-GAN's h_i = f(x_i)
 * with a pretrained f, papers.md). Nothing is trained; the images are only resized, rescaled
 * and normalised to what the model expects.
 *
 * The model files are read once into memory: the bytes that are hashed (the settings'
 * `modelHash`, hence the feature cache key) are the bytes that are loaded and the bytes that
 * `save` copies, so a run folder holds exactly the model that made its features. A saved
 * extractor is self-contained:
 *
 *   <dir>/feature-extractor.icgan   settings (with modelHash), input shape, dimension; checksummed
 *   <dir>/model-files.json          SHA-256 of each copied file, to name the one that was damaged
 *   <dir>/model/model.json          the model, weight paths unchanged
 *   <dir>/model/<weight files>
 *
 * On load the copied files must hash to the recorded modelHash, which the extractor file's
 * checksum protects; model-files.json only serves the error message.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfc from '@tensorflow/tfjs-converter';
import * as tfl from '@tensorflow/tfjs-layers';
import { writeFileAtomic } from '../checkpoint/atomicWrite';
import type { ImageDataset } from '../data/dataset';
import { UserError } from '../errors';
import { embedInBatches } from './embedBatches';
import {
  expectDim,
  expectTensors,
  writeExtractorFile,
  type ExtractorFile,
  type ExtractorInput,
} from './extractorFile';
import type { FeatureExtractor, FeatureLog } from './extractorTypes';
import type { InputRange, ModelSettings } from './featureSettings';
import {
  combinedHash,
  MODEL_COPY_DIR,
  MODEL_FILES_LIST,
  MODEL_JSON,
  readModelFiles,
  type ModelFiles,
} from './modelFiles';

/** How many layer/node names an "unknown layer" message lists. */
const NAMES_SHOWN = 12;

/** The chosen layer's output for a batch of images already prepared for the model. */
interface LoadedModel {
  /** [batch, height, width, channels] as the model declares it; null where it is free. */
  inputShape: (number | null)[];
  /** 'layer' or 'node', for messages. */
  unit: string;
  run(x: tf.Tensor4D): tf.Tensor;
  dispose(): void;
}

async function loadModel(files: ModelFiles, s: ModelSettings, where: string): Promise<LoadedModel> {
  // The weights handed over are the bytes that were hashed, never a second read of the disk;
  // copied out because small Node buffers share a pool. They are never shared memory (the cast).
  const shards = files.files
    .slice(1)
    .map(
      (f) =>
        f.bytes.buffer.slice(
          f.bytes.byteOffset,
          f.bytes.byteOffset + f.bytes.byteLength,
        ) as ArrayBuffer,
    );
  const handler: tf.io.IOHandler = {
    load: () =>
      tf.io.getModelArtifactsForJSON(files.json, (manifest) =>
        Promise.resolve([tf.io.getWeightSpecs(manifest), shards]),
      ),
  };
  try {
    if (files.format === 'layers') return loadLayers(await tfl.loadLayersModel(handler), files, s);
    return loadGraph(await tfc.loadGraphModel(handler), files, s);
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(
      `${where}: cannot load the ${files.format} model ${files.jsonFile} (${(err as Error).message})`,
    );
  }
}

function loadLayers(m: tfl.LayersModel, files: ModelFiles, s: ModelSettings): LoadedModel {
  try {
    if (m.inputs.length !== 1) {
      throw new UserError(
        `features.path: the model ${files.jsonFile} has ${m.inputs.length} inputs; features need a model with one image input`,
      );
    }
    const names = m.layers.map((l) => l.name);
    if (!names.includes(s.layer)) throw unknownName('layer', s.layer, names, files.jsonFile);
    let output: tfl.SymbolicTensor | tfl.SymbolicTensor[];
    try {
      output = m.getLayer(s.layer).output;
    } catch (err) {
      // A layer applied more than once (shared) has no single output to read.
      throw new UserError(`features.layer: '${s.layer}': ${(err as Error).message}`);
    }
    if (Array.isArray(output)) {
      throw new UserError(
        `features.layer: '${s.layer}' has ${output.length} outputs; features need a layer with one`,
      );
    }
    const outputName = output.name;
    return {
      inputShape: [...(m.inputs[0]?.shape ?? [])],
      unit: 'layer',
      // execute() reads an inner tensor without building a second model over the same layers,
      // whose dispose would free weights the first one still uses. It runs in inference mode.
      run: (x) => m.execute(x, outputName) as tf.Tensor,
      dispose: () => m.dispose(),
    };
  } catch (err) {
    m.dispose();
    throw err;
  }
}

function loadGraph(g: tfc.GraphModel, files: ModelFiles, s: ModelSettings): LoadedModel {
  try {
    if (g.inputs.length !== 1) {
      throw new UserError(
        `features.path: the model ${files.jsonFile} has ${g.inputs.length} inputs; features need a model with one image input`,
      );
    }
    const nodes = (files.json.modelTopology as { node?: { name?: unknown }[] }).node ?? [];
    const names = nodes.map((n) => n.name).filter((n): n is string => typeof n === 'string');
    // 'name:1' selects a node's second output; the node itself must exist.
    if (!names.includes(s.layer.replace(/:\d+$/, ''))) {
      throw unknownName('node', s.layer, names, files.jsonFile);
    }
    const shape = g.inputs[0]?.shape;
    return {
      // Graph models mark a free dimension with -1, or give no shape at all.
      inputShape: shape ? shape.map((d) => (d < 0 ? null : d)) : [null, null, null, null],
      unit: 'node',
      run: (x) => g.execute(x, s.layer) as tf.Tensor,
      dispose: () => g.dispose(),
    };
  } catch (err) {
    g.dispose();
    throw err;
  }
}

/** Features are usually read near the output, so the names listed are the last ones. */
function unknownName(
  unit: string,
  name: string,
  names: readonly string[],
  file: string,
): UserError {
  const shown = names.slice(-NAMES_SHOWN).map((n) => `'${n}'`);
  const more = names.length > NAMES_SHOWN ? `the last ${NAMES_SHOWN} of ${names.length}: ` : '';
  return new UserError(
    `features.layer: the model ${file} has no ${unit} '${name}' (${unit}s: ${more}${shown.join(', ')})`,
  );
}

/** How the data's images become the model's input. */
interface InputPlan {
  height: number;
  width: number;
  /** Grey data fed to a colour model: the one channel repeated three times. */
  repeatGrey: boolean;
}

function planInput(
  shape: readonly (number | null)[],
  data: ExtractorInput,
  s: ModelSettings,
  jsonFile: string,
): InputPlan {
  const [, h, w, c] = shape;
  if (shape.length !== 4 || h === undefined || w === undefined || c === undefined) {
    throw new UserError(
      `features.path: the model ${jsonFile} takes input of shape [${shape.map(String).join(', ')}]; ` +
        'features need one taking images [batch, height, width, channels]',
    );
  }
  const channels = c ?? data.channels;
  if (channels !== data.channels && !(channels === 3 && data.channels === 1)) {
    throw new UserError(
      `features.path: the model ${jsonFile} takes ${channels}-channel images, but the data has ${data.channels} channel${data.channels === 1 ? '' : 's'}`,
    );
  }
  for (const key of ['mean', 'std'] as const) {
    const v = s[key];
    if (v && v.length !== 1 && v.length !== channels) {
      throw new UserError(
        `features.${key}: ${v.length} values, but the model takes ${channels}-channel images (give 1 or ${channels})`,
      );
    }
  }
  let height = h;
  let width = w;
  if (s.inputSize > 0) {
    if ((h !== null && h !== s.inputSize) || (w !== null && w !== s.inputSize)) {
      throw new UserError(
        `features.inputSize: ${s.inputSize}, but the model ${jsonFile} takes ${h ?? 'any'}×${w ?? 'any'} images`,
      );
    }
    height = s.inputSize;
    width = s.inputSize;
  } else if (height === null || width === null) {
    throw new UserError(
      `features.inputSize: the model ${jsonFile} takes images of any size; set features.inputSize`,
    );
  }
  return { height, width, repeatGrey: channels === 3 && data.channels === 1 };
}

/**
 * Images in [-1, 1] at the model's size, channels and value range. Shrinking averages areas by
 * the largest whole factor first (it anti-aliases, unlike bilinear sampling alone).
 */
function prepare(x: tf.Tensor4D, plan: InputPlan, s: ModelSettings): tf.Tensor4D {
  return tf.tidy(() => {
    let y = x;
    const [, h, w] = y.shape;
    if (h !== plan.height || w !== plan.width) {
      const fy = Math.max(1, Math.floor(h / plan.height));
      const fx = Math.max(1, Math.floor(w / plan.width));
      if (fy > 1 || fx > 1) y = tf.avgPool(y, [fy, fx], [fy, fx], 'valid');
      if (y.shape[1] !== plan.height || y.shape[2] !== plan.width) {
        y = tf.image.resizeBilinear(y, [plan.height, plan.width], false, true);
      }
    }
    if (plan.repeatGrey) y = tf.tile(y, [1, 1, 1, 3]);
    y = rescale(y, s.inputRange);
    if (s.mean) y = tf.sub(y, tf.tensor1d(s.mean));
    if (s.std) y = tf.div(y, tf.tensor1d(s.std));
    return y;
  });
}

function rescale(x: tf.Tensor4D, range: InputRange): tf.Tensor4D {
  switch (range) {
    case '[-1,1]':
      return x;
    case '[0,1]':
      return tf.mul(tf.add(x, 1), 0.5);
    case '[0,255]':
      return tf.mul(tf.add(x, 1), 127.5);
  }
}

/** The layer's output as one row per image: 2-D as is, higher ranks pooled or flattened. */
function toRows(y: tf.Tensor, pooling: ModelSettings['pooling']): tf.Tensor2D {
  return tf.tidy(() => {
    const f = y.dtype === 'float32' ? y : tf.cast(y, 'float32');
    if (f.rank === 2) return f as tf.Tensor2D;
    if (f.rank < 2) throw new Error(`its output has rank ${f.rank}, no batch of rows`);
    if (pooling === 'flatten') return tf.reshape(f, [f.shape[0] ?? 0, -1]);
    // Average over every axis but the batch and the channels: space for a conv feature map.
    const axes = Array.from({ length: f.rank - 2 }, (_, i) => i + 1);
    return tf.mean(f, axes) as tf.Tensor2D;
  });
}

/** Reads the model at settings.path and checks it is the one the settings were resolved for. */
export async function fitModelFeatures(
  data: ImageDataset,
  s: ModelSettings,
  log: FeatureLog = () => {},
): Promise<ModelExtractor> {
  const files = readModelFiles(s.path, 'features.path');
  if (files.hash !== s.modelHash) {
    throw new UserError(
      `features.path: the model files of ${files.jsonFile} changed after the settings were resolved ` +
        `(SHA-256 ${short(files.hash)}, expected ${short(s.modelHash)}); start again to use the new files`,
    );
  }
  const input: ExtractorInput = { height: data.height, width: data.width, channels: data.channels };
  const extractor = await ModelExtractor.create(s, input, files, 'features.path');
  log(
    `features: ${files.format} model ${files.jsonFile}, ${extractor.describe()}, ` +
      `${extractor.dim} dimensions`,
  );
  return extractor;
}

function short(hash: string): string {
  return `${hash.slice(0, 12)}…`;
}

export class ModelExtractor implements FeatureExtractor {
  readonly kind = 'model';
  private disposed = false;

  private constructor(
    readonly settings: ModelSettings,
    readonly input: ExtractorInput,
    readonly dim: number,
    private readonly files: ModelFiles,
    private readonly model: LoadedModel,
    private readonly plan: InputPlan,
  ) {}

  /** Loads the model and runs it once on blank images, to learn the dimension and to fail early. */
  static async create(
    s: ModelSettings,
    input: ExtractorInput,
    files: ModelFiles,
    where: string,
  ): Promise<ModelExtractor> {
    const model = await loadModel(files, s, where);
    try {
      const plan = planInput(model.inputShape, input, s, files.jsonFile);
      // Two images, so that an output which mixes the batch (a reduction over it) is caught.
      const probe = tf.zeros([2, input.height, input.width, input.channels]) as tf.Tensor4D;
      let shape: number[];
      try {
        const rows = tf.tidy(() => toRows(model.run(prepare(probe, plan, s)), s.pooling));
        shape = rows.shape;
        rows.dispose();
      } catch (err) {
        // Unsupported ops, shape mismatches inside the model and the like all end here.
        throw new UserError(
          `${where}: the model ${files.jsonFile} fails on ${input.height}×${input.width}×${input.channels} ` +
            `images read at ${model.unit} '${s.layer}' (${(err as Error).message})`,
        );
      } finally {
        probe.dispose();
      }
      const [n, dim] = shape;
      if (n !== 2 || dim === undefined || dim < 1) {
        throw new UserError(
          `features.layer: ${model.unit} '${s.layer}' of ${files.jsonFile} gives [${shape.join(', ')}] ` +
            'for 2 images; features need one row per image',
        );
      }
      return new ModelExtractor(s, input, dim, files, model, plan);
    } catch (err) {
      model.dispose();
      throw err;
    }
  }

  /** The layer, input shape and preprocessing, for a log line. */
  describe(): string {
    const s = this.settings;
    const norm = s.mean || s.std ? `, normalised by mean ${fmt(s.mean)} std ${fmt(s.std)}` : '';
    return (
      `${this.model.unit} '${s.layer}' (${s.pooling === 'avg' ? 'averaged' : 'flattened'} if spatial), ` +
      `input ${this.plan.height}×${this.plan.width}${this.plan.repeatGrey ? ' (grey repeated to RGB)' : ''} ` +
      `in ${s.inputRange}${norm}`
    );
  }

  async embed(images: Float32Array, n: number): Promise<Float32Array> {
    this.checkAlive();
    return embedInBatches(images, n, this.input, this.dim, (x) =>
      toRows(this.model.run(prepare(x, this.plan, this.settings)), this.settings.pooling),
    );
  }

  async save(dir: string): Promise<void> {
    this.checkAlive();
    for (const f of this.files.files) {
      const file = path.join(dir, MODEL_COPY_DIR, ...f.name.split('/'));
      await fs.promises.mkdir(path.dirname(file), { recursive: true });
      await writeFileAtomic(file, f.bytes);
    }
    const list = {
      hash: this.files.hash,
      files: this.files.files.map((f) => ({
        name: f.name,
        sha256: f.sha256,
        bytes: f.bytes.length,
      })),
    };
    await writeFileAtomic(path.join(dir, MODEL_FILES_LIST), `${JSON.stringify(list, null, 2)}\n`);
    // Last: a complete extractor file implies a complete copy next to it.
    await writeExtractorFile(
      dir,
      { settings: this.settings, input: this.input, dim: this.dim },
      [],
    );
  }

  /** Rebuilds a saved extractor from its own copy of the model, never from settings.path. */
  static async fromFile(f: ExtractorFile): Promise<ModelExtractor> {
    const s = f.meta.settings;
    if (s.kind !== 'model') throw new Error(`not a model extractor: ${f.file}`);
    expectTensors(f, new Map());
    const dir = path.dirname(f.file);
    const where = `feature extractor ${dir}`;
    const files = readModelFiles(path.join(dir, MODEL_COPY_DIR, MODEL_JSON), where);
    if (files.hash !== s.modelHash) throw tampered(dir, files, s.modelHash);
    const extractor = await ModelExtractor.create(s, f.meta.input, files, where);
    try {
      expectDim(f, extractor.dim);
    } catch (err) {
      extractor.dispose();
      throw err;
    }
    return extractor;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.model.dispose();
  }

  private checkAlive(): void {
    if (this.disposed) throw new Error('the feature extractor has been disposed');
  }
}

function fmt(v: readonly number[] | null): string {
  return v ? `[${v.join(', ')}]` : 'none';
}

/** Names the copied file that no longer matches, when model-files.json still says which. */
function tampered(dir: string, files: ModelFiles, expected: string): UserError {
  const prefix = `feature extractor ${dir}`;
  let recorded: { name: string; sha256: string }[] = [];
  try {
    const list = JSON.parse(fs.readFileSync(path.join(dir, MODEL_FILES_LIST), 'utf8')) as {
      hash?: unknown;
      files?: { name: string; sha256: string }[];
    };
    // The list is trusted only as far as it matches the hash the checksummed settings record.
    if (
      list.hash === expected &&
      Array.isArray(list.files) &&
      combinedHash(list.files) === expected
    ) {
      recorded = list.files;
    }
  } catch {
    // No usable list: fall back to the general message.
  }
  for (const r of recorded) {
    const got = files.files.find((f) => f.name === r.name);
    if (got && got.sha256 !== r.sha256) {
      return new UserError(
        `${prefix}: ${MODEL_COPY_DIR}/${r.name} was modified or damaged (SHA-256 ${short(got.sha256)}, ` +
          `recorded ${short(r.sha256)})`,
      );
    }
  }
  return new UserError(
    `${prefix}: the copied model files in ${MODEL_COPY_DIR}/ do not match the ones it was saved with ` +
      `(SHA-256 ${short(files.hash)}, recorded ${short(expected)})`,
  );
}
