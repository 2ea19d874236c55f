/**
 * The default instance features: a small conv encoder trained on the data set itself with
 * SimCLR's contrastive objective (Chen et al. 2020), since IC-GAN's h_i = f(x_i) must be
 * learned without labels and no pretrained backbone is available offline (datasets.md).
 *
 * encoder: `blocks` × [4×4 stride-2 conv → batch norm → ReLU] → global average pool = h (dim)
 * head (loss only): dense → batch norm → ReLU → dense = z (projectionDim)
 *
 * At embedding time batch norm uses standing statistics measured on the clean data after
 * training, so an image's features do not depend on the other images of its batch.
 */
import * as tf from '@tensorflow/tfjs-core';
import { readFloats, takeFloats } from '../backend/tensorRead';
import { gatherBatch } from '../data/batch';
import type { ImageDataset } from '../data/dataset';
import {
  averageStats,
  BATCH_STATS,
  batchNorm,
  convDown,
  dense,
  type BnMode,
  type BnStats,
} from '../models/layers';
import {
  countParameters,
  disposeVariables,
  gradientsByName,
  ParamBuilder,
  type TensorMap,
  type VariableMap,
} from '../models/paramStore';
import { Rng } from '../random/rng';
import { Adam } from '../train/adam';
import type { TensorRecord } from '../checkpoint/checkpointFile';
import { augmentBatch } from './augment';
import { embedInBatches } from './embedBatches';
import {
  expectDim,
  expectTensors,
  writeExtractorFile,
  type ExtractorFile,
  type ExtractorInput,
} from './extractorFile';
import type { FeatureExtractor, FeatureLog } from './extractorTypes';
import type { SelfSupervisedSettings } from './featureSettings';
import { ntXentLoss } from './ntXent';

/** Clean images whose batch-norm statistics become the standing ones. */
const STATS_IMAGES = 2048;
const STATS_BATCH = 256;
/** Steps between progress lines and between yields to the event loop. */
const LOG_EVERY = 50;
const YIELD_EVERY = 10;
/** Seed offsets, so weights, batches and views draw from separate streams of one seed. */
const TRAIN_STREAM = 0x5eed;

type Shape = readonly number[];

/** Encoder parameters by name, in creation order; the saved file must hold exactly these. */
export function encoderShapes(s: SelfSupervisedSettings, channels: number): Map<string, Shape> {
  const shapes = new Map<string, Shape>();
  let inC = channels;
  for (let b = 0; b < s.blocks; b++) {
    const outC = b === s.blocks - 1 ? s.dim : s.width * 2 ** b;
    shapes.set(`b${b}.conv.w`, [4, 4, inC, outC]);
    shapes.set(`b${b}.bn.gamma`, [outC]);
    shapes.set(`b${b}.bn.beta`, [outC]);
    inC = outC;
  }
  return shapes;
}

function statsShapes(s: SelfSupervisedSettings): Map<string, Shape> {
  const shapes = new Map<string, Shape>();
  for (let b = 0; b < s.blocks; b++) {
    const c = b === s.blocks - 1 ? s.dim : s.width * 2 ** b;
    shapes.set(`stats/b${b}.bn/mean`, [c]);
    shapes.set(`stats/b${b}.bn/variance`, [c]);
  }
  return shapes;
}

/**
 * Images at the encoder's working size: area averaging by the largest whole factor (it
 * anti-aliases, unlike bilinear sampling), then bilinear resizing for any remainder.
 */
export function toEncoderInput(x: tf.Tensor4D, size: number): tf.Tensor4D {
  const [, height, width] = x.shape;
  if (size === 0 || (height === size && width === size)) return x;
  return tf.tidy(() => {
    const fy = Math.max(1, Math.floor(height / size));
    const fx = Math.max(1, Math.floor(width / size));
    const pooled = fy > 1 || fx > 1 ? tf.avgPool(x, [fy, fx], [fy, fx], 'valid') : x;
    const [, h, w] = pooled.shape;
    return h === size && w === size
      ? pooled
      : tf.image.resizeBilinear(pooled, [size, size], false, true);
  });
}

/** h before normalisation: n × dim. (Exported for bench/trainStep.ts.) */
export function encode(p: TensorMap, blocks: number, x: tf.Tensor4D, mode: BnMode): tf.Tensor2D {
  return tf.tidy(() => {
    let h = x;
    for (let b = 0; b < blocks; b++) {
      h = tf.relu(batchNorm(p, `b${b}.bn`, convDown(p, `b${b}.conv`, h, false), mode));
    }
    return tf.mean(h, [1, 2]) as tf.Tensor2D;
  });
}

export function project(p: TensorMap, h: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() =>
    dense(
      p,
      'head.fc2',
      tf.relu(batchNorm(p, 'head.bn', dense(p, 'head.fc1', h, false), BATCH_STATS)),
    ),
  );
}

export function buildParams(
  s: SelfSupervisedSettings,
  channels: number,
): { encoder: VariableMap; head: VariableMap } {
  const rng = new Rng(s.seed);
  const he = (fanIn: number): { kind: 'normal'; std: number } => ({
    kind: 'normal',
    std: Math.sqrt(2 / fanIn),
  });
  const enc = new ParamBuilder(rng, 'featEnc');
  for (const [name, shape] of encoderShapes(s, channels)) {
    if (name.endsWith('.w'))
      enc.add(name, [...shape], he((shape[0] ?? 1) * (shape[1] ?? 1) * (shape[2] ?? 1)));
    else enc.add(name, [...shape], { kind: name.endsWith('gamma') ? 'ones' : 'zeros' });
  }
  const head = new ParamBuilder(rng, 'featHead');
  head.add('head.fc1.w', [s.dim, s.dim], he(s.dim));
  head.add('head.bn.gamma', [s.dim], { kind: 'ones' });
  head.add('head.bn.beta', [s.dim], { kind: 'zeros' });
  head.add('head.fc2.w', [s.dim, s.projectionDim], he(s.dim));
  head.add('head.fc2.b', [s.projectionDim], { kind: 'zeros' });
  return { encoder: enc.vars, head: head.vars };
}

/** Shuffled passes over 0..n−1, so a batch never holds one image twice (a false negative). */
class EpochSampler {
  private order: Int32Array;
  private next: number;

  constructor(
    private readonly n: number,
    private readonly rng: Rng,
  ) {
    this.order = new Int32Array(n);
    this.next = n;
  }

  take(count: number): Int32Array {
    if (this.next + count > this.n) this.reshuffle();
    const out = this.order.slice(this.next, this.next + count);
    this.next += count;
    return out;
  }

  private reshuffle(): void {
    for (let i = 0; i < this.n; i++) this.order[i] = i;
    for (let i = this.n - 1; i > 0; i--) {
      const j = this.rng.int(i + 1);
      const t = this.order[i] as number;
      this.order[i] = this.order[j] as number;
      this.order[j] = t;
    }
    this.next = 0;
  }
}

/** Trains the encoder on `data` and returns it as an extractor with standing statistics. */
export async function trainContrastiveEncoder(
  data: ImageDataset,
  s: SelfSupervisedSettings,
  log: FeatureLog = () => {},
): Promise<ContrastiveExtractor> {
  if (data.count < 2) {
    throw new RangeError(`contrastive features need at least 2 images, got ${data.count}`);
  }
  const batchSize = Math.min(s.batchSize, data.count);
  const { encoder, head } = buildParams(s, data.channels);
  const all: VariableMap = new Map([...encoder, ...head]);
  const vars = [...all.values()];
  const opt = new Adam(all, { learningRate: s.learningRate, beta1: 0.9, beta2: 0.999 });
  const rng = new Rng(s.seed + TRAIN_STREAM);
  const sampler = new EpochSampler(data.count, rng);
  log(
    `features: contrastive encoder, ${countParameters(encoder)} parameters ` +
      `(+${countParameters(head)} in the projection head), ${s.steps} steps of ${batchSize} images`,
  );
  const started = performance.now();
  let windowLoss = 0;
  try {
    for (let step = 1; step <= s.steps; step++) {
      const x = gatherBatch(data, sampler.take(batchSize));
      const views = tf.tidy(() => {
        const small = toEncoderInput(x, s.inputSize);
        return tf.concat([
          augmentBatch(small, rng, s.augment),
          augmentBatch(small, rng, s.augment),
        ]);
      });
      const { value, grads } = tf.variableGrads(
        () => ntXentLoss(project(all, encode(all, s.blocks, views, BATCH_STATS)), s.temperature),
        vars,
      );
      opt.apply(gradientsByName(all, grads));
      tf.dispose([x, views, ...Object.values(grads)]);
      windowLoss += (await takeFloats(value))[0] ?? NaN;
      if (step % LOG_EVERY === 0 || step === s.steps) {
        const window = step % LOG_EVERY || LOG_EVERY;
        const ms = (performance.now() - started) / step;
        log(
          `features: step ${step}/${s.steps} loss ${(windowLoss / window).toFixed(3)} ` +
            `(${ms.toFixed(0)} ms/step)`,
        );
        windowLoss = 0;
      }
      if (step % YIELD_EVERY === 0) await new Promise((r) => setImmediate(r));
    }
  } catch (err) {
    disposeVariables(encoder);
    throw err;
  } finally {
    opt.dispose();
    disposeVariables(head);
  }
  const stats = standingStats(data, encoder, s, rng);
  const input: ExtractorInput = { height: data.height, width: data.width, channels: data.channels };
  return new ContrastiveExtractor(s, input, encoder, stats);
}

/** Batch-norm statistics of the encoder over (a seeded subset of) the clean images. */
function standingStats(
  data: ImageDataset,
  encoder: TensorMap,
  s: SelfSupervisedSettings,
  rng: Rng,
): Map<string, BnStats> {
  const count = Math.min(STATS_IMAGES, data.count);
  const indices = new EpochSampler(data.count, rng).take(count);
  const collected = new Map<string, BnStats[]>();
  // Equal-sized batches: averageStats weighs every batch the same.
  const batches = Math.ceil(count / STATS_BATCH);
  const per = Math.floor(count / batches);
  for (let b = 0; b < batches; b++) {
    const x = gatherBatch(data, indices.subarray(b * per, (b + 1) * per));
    const h = tf.tidy(() =>
      encode(encoder, s.blocks, toEncoderInput(x, s.inputSize), {
        kind: 'collect',
        out: collected,
      }),
    );
    tf.dispose([h, x]);
  }
  return averageStats(collected);
}

export class ContrastiveExtractor implements FeatureExtractor {
  readonly kind = 'selfsupervised';
  readonly dim: number;
  private disposed = false;

  constructor(
    readonly settings: SelfSupervisedSettings,
    readonly input: ExtractorInput,
    private readonly params: TensorMap,
    private readonly stats: ReadonlyMap<string, BnStats>,
  ) {
    this.dim = settings.dim;
  }

  async embed(images: Float32Array, n: number): Promise<Float32Array> {
    this.checkAlive();
    const mode: BnMode = { kind: 'fixed', stats: this.stats };
    return embedInBatches(images, n, this.input, this.dim, (x) =>
      encode(this.params, this.settings.blocks, toEncoderInput(x, this.settings.inputSize), mode),
    );
  }

  async save(dir: string): Promise<void> {
    this.checkAlive();
    const tensors: TensorRecord[] = [];
    for (const name of encoderShapes(this.settings, this.input.channels).keys()) {
      tensors.push(await record(name, this.params.get(name)));
    }
    for (const [name, st] of this.stats) {
      tensors.push(await record(`stats/${name}/mean`, st.mean));
      tensors.push(await record(`stats/${name}/variance`, st.variance));
    }
    await writeExtractorFile(
      dir,
      { settings: this.settings, input: this.input, dim: this.dim },
      tensors,
    );
  }

  /** Rebuilds a saved encoder; the file's meta has been checked by readExtractorFile. */
  static fromFile(f: ExtractorFile): ContrastiveExtractor {
    const s = f.meta.settings;
    if (s.kind !== 'selfsupervised') throw new Error(`not a contrastive encoder: ${f.file}`);
    expectDim(f, s.dim);
    const params = encoderShapes(s, f.meta.input.channels);
    const stats = statsShapes(s);
    const records = expectTensors(f, new Map([...params, ...stats]));
    const tensor = (name: string): tf.Tensor => {
      const r = records.get(name) as TensorRecord;
      return tf.tensor(r.data, r.shape);
    };
    const p = new Map([...params.keys()].map((name) => [name, tensor(name)]));
    const st = new Map<string, BnStats>();
    for (let b = 0; b < s.blocks; b++) {
      const bn = `b${b}.bn`;
      st.set(bn, { mean: tensor(`stats/${bn}/mean`), variance: tensor(`stats/${bn}/variance`) });
    }
    return new ContrastiveExtractor(s, f.meta.input, p, st);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    disposeVariables(this.params);
    for (const st of this.stats.values()) tf.dispose([st.mean, st.variance]);
  }

  private checkAlive(): void {
    if (this.disposed) throw new Error('the feature extractor has been disposed');
  }
}

async function record(name: string, t: tf.Tensor | undefined): Promise<TensorRecord> {
  if (!t) throw new Error(`missing tensor '${name}'`);
  return { name, shape: [...t.shape], data: await readFloats(t) };
}
