import * as tf from '@tensorflow/tfjs-core';
import type { MlpConfig } from '../config/types';
import type { Rng } from '../random/rng';
import { conditionWidth, denseCondition, type ConditionSize } from './conditionInput';
import type { Conditioning, GanModel, ImageShape } from './ganModel';
import { dense, maxout, type BnMode } from './layers';
import { ParamBuilder, type TensorMap } from './paramStore';

const INIT_STD = 0.02;
const X_PIECES = 5;
const Y_PIECES = 5;
const JOINT_PIECES = 4;

/**
 * The conditional GAN of Mirza & Osindero (2014), as in the paper's MNIST experiment:
 * G: z → ReLU(zHidden), y → ReLU(yHidden), joined → ReLU(jointHidden) → image (tanh
 * instead of the paper's sigmoid, since images here are in [-1, 1]). y is the one-hot class, or
 * (model.condition) the image's multi-hot tags or its vector, as in the paper's second experiment.
 * D: x → maxout(dxUnits × 5), y → maxout(dyUnits × 5), joined → maxout(dJointUnits × 4) → logit.
 * Departures from the paper, for a tool that must be reproducible: Adam instead of SGD with
 * momentum, and no dropout (it would need its own random stream in the checkpoint).
 */
export class MlpCgan implements GanModel {
  readonly type = 'cgan-mlp';
  readonly featureDim = 0;
  readonly numClasses: number;
  readonly conditionDim: number;
  readonly generatorParams;
  readonly discriminatorParams;
  private readonly pixels: number;

  constructor(
    readonly zDim: number,
    private readonly cfg: MlpConfig,
    readonly image: ImageShape,
    y: ConditionSize,
    rng: Rng,
  ) {
    this.numClasses = y.numClasses;
    this.conditionDim = y.conditionDim;
    const yWidth = conditionWidth(y);
    this.pixels = image.resolution * image.resolution * image.channels;
    const n = { kind: 'normal', std: INIT_STD } as const;
    const z = { kind: 'zeros' } as const;
    const g = new ParamBuilder(rng, 'G');
    g.add('z.w', [zDim, cfg.zHidden], n);
    g.add('z.b', [cfg.zHidden], z);
    g.add('y.w', [yWidth, cfg.yHidden], n);
    g.add('y.b', [cfg.yHidden], z);
    g.add('joint.w', [cfg.zHidden + cfg.yHidden, cfg.jointHidden], n);
    g.add('joint.b', [cfg.jointHidden], z);
    g.add('out.w', [cfg.jointHidden, this.pixels], n);
    g.add('out.b', [this.pixels], z);
    this.generatorParams = g.vars;
    const d = new ParamBuilder(rng, 'D');
    d.add('x.w', [this.pixels, cfg.dxUnits * X_PIECES], n);
    d.add('x.b', [cfg.dxUnits * X_PIECES], z);
    d.add('y.w', [yWidth, cfg.dyUnits * Y_PIECES], n);
    d.add('y.b', [cfg.dyUnits * Y_PIECES], z);
    d.add('joint.w', [cfg.dxUnits + cfg.dyUnits, cfg.dJointUnits * JOINT_PIECES], n);
    d.add('joint.b', [cfg.dJointUnits * JOINT_PIECES], z);
    d.add('logit.w', [cfg.dJointUnits, 1], n);
    d.add('logit.b', [1], z);
    this.discriminatorParams = d.vars;
  }

  private y(cond: Conditioning): tf.Tensor2D {
    return denseCondition(this.type, this, cond);
  }

  generate(p: TensorMap, z: tf.Tensor2D, cond: Conditioning, _bn: BnMode): tf.Tensor4D {
    return tf.tidy(() => {
      const hz = tf.relu(dense(p, 'z', z));
      const hy = tf.relu(dense(p, 'y', this.y(cond)));
      const joint = tf.relu(dense(p, 'joint', tf.concat([hz, hy], 1)));
      const { resolution: r, channels: c } = this.image;
      return tf.reshape(tf.tanh(dense(p, 'out', joint)), [z.shape[0], r, r, c]) as tf.Tensor4D;
    });
  }

  discriminate(p: TensorMap, x: tf.Tensor4D, cond: Conditioning): tf.Tensor1D {
    return tf.tidy(() => {
      const flat = tf.reshape(x, [x.shape[0], this.pixels]) as tf.Tensor2D;
      const hx = maxout(p, 'x', flat, this.cfg.dxUnits, X_PIECES);
      const hy = maxout(p, 'y', this.y(cond), this.cfg.dyUnits, Y_PIECES);
      const joint = maxout(p, 'joint', tf.concat([hx, hy], 1), this.cfg.dJointUnits, JOINT_PIECES);
      return tf.reshape(dense(p, 'logit', joint), [-1]) as tf.Tensor1D;
    });
  }
}
