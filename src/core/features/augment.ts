/**
 * Random views of a batch for contrastive learning (SimCLR's recipe): a random resized crop,
 * a horizontal flip, colour jitter and occasional greyscale. They are applied to the input
 * only, so nothing here needs a gradient.
 *
 * Every random number is drawn from the caller's seeded Rng, in a fixed number per image
 * whatever the probabilities, so a seed fixes the views and changing one probability does not
 * shift the stream of the others. The image work is two batch-wise tf ops: CropAndResize
 * (crop, resize and flip in one — a box with x1 > x2 samples mirrored; all of it runs on the
 * WASM backend, on one kernel of ours there: CROP_RESIZE_REFLECT) and one per-image 3×3 colour
 * matrix.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../random/rng';
import type { AugmentSettings } from './featureSettings';

/** ITU-R BT.601 luma weights: the grey level that saturation and greyscale keep. */
const LUMA = [0.299, 0.587, 0.114] as const;

/** RGB → YIQ. Hue rotation turns the (I, Q) plane and leaves luma (the grey axis) alone. */
const RGB_TO_YIQ = [
  [0.299, 0.587, 0.114],
  [0.595716, -0.274453, -0.321263],
  [0.211456, -0.522591, 0.311135],
] as const;

type Mat3 = number[][];

/**
 * The views' crop as one kernel: inputs image [n, h, w, c] and boxes [n, 4] (box b crops image b,
 * in the coordinates of the image mirror-padded by attrs.padY/padX, 'symmetric'); output the
 * bilinear crops [n, cropHeight, cropWidth, c], 0 outside — exactly tf.mirrorPad followed by
 * tf.image.cropAndResize, without the padded copy. Registered by some backends (wasm:
 * src/core/backend/wasmAugmentKernels.ts); those two ops run elsewhere.
 */
export const CROP_RESIZE_REFLECT = 'IcganCropResizeReflect';

export interface CropResizeReflectAttrs {
  padY: number;
  padX: number;
  cropHeight: number;
  cropWidth: number;
}

/** The random choices for each image of a batch; drawn in JS so a seed fixes them exactly. */
export interface AugmentParams {
  /**
   * n × [y1, x1, y2, x2] in the image's normalised coordinates (0 and 1 are the centres of the
   * first and last pixels); x1 > x2 for a flipped view; beyond [0, 1] for a zoomed-out view.
   */
  boxes: Float32Array;
  /** n × 3×3 row-major colour matrices acting on RGB in [0, 1] (1×1 for grey images). */
  colour: Float32Array;
  /** Per image, the contrast factor's pull towards the mean luma: the offset is k·mean. */
  offset: Float32Array;
}

/** Draws the augmentation of `n` images; exactly 11 uniforms per image. */
export function sampleAugmentParams(
  n: number,
  channels: number,
  rng: Rng,
  s: AugmentSettings,
): AugmentParams {
  const boxes = new Float32Array(n * 4);
  const m = channels === 3 ? 3 : 1;
  const colour = new Float32Array(n * m * m);
  const offset = new Float32Array(n);
  const logAspect = Math.log(s.cropMaxAspect);
  for (let i = 0; i < n; i++) {
    // Eleven draws per image, always in this order: see the module comment.
    const uArea = rng.uniform();
    const uAspect = rng.uniform();
    const uTop = rng.uniform();
    const uLeft = rng.uniform();
    const uFlip = rng.uniform();
    const uJitter = rng.uniform();
    const uBrightness = rng.uniform();
    const uContrast = rng.uniform();
    const uSaturation = rng.uniform();
    const uHue = rng.uniform();
    const uGrey = rng.uniform();

    const area = s.cropScaleMin + (s.cropScaleMax - s.cropScaleMin) * uArea;
    const aspect = Math.exp(logAspect * (2 * uAspect - 1));
    // A crop (area ≤ 1) stays inside the image on both axes, as in torchvision; a zoomed-out
    // view may extend past it on either axis, and is placed to keep the image inside if it can.
    const limit = area > 1 ? Infinity : 1;
    const h = Math.min(limit, Math.sqrt(area / aspect));
    const w = Math.min(limit, Math.sqrt(area * aspect));
    const y1 = uTop * (1 - h);
    const x1 = uLeft * (1 - w);
    const flip = uFlip < s.flipProbability;
    boxes.set(flip ? [y1, x1 + w, y1 + h, x1] : [y1, x1, y1 + h, x1 + w], i * 4);

    const jitter = uJitter < s.jitterProbability;
    const factor = (strength: number, v: number): number =>
      jitter ? 1 + strength * (2 * v - 1) : 1;
    const brightness = factor(s.brightness, uBrightness);
    const contrast = factor(s.contrast, uContrast);
    const grey = uGrey < s.greyscaleProbability;
    const saturation = grey ? 0 : factor(s.saturation, uSaturation);
    const hueTurns = jitter ? s.hue * (2 * uHue - 1) : 0;
    // Brightness then contrast around the brightened mean: x ↦ b·c·x + (1 − c)·b·mean.
    offset[i] = (1 - contrast) * brightness;
    const scale = brightness * contrast;
    if (m === 1) {
      colour[i] = scale;
      continue;
    }
    const mat = mul(hueRotation(hueTurns), saturationMatrix(saturation));
    for (let r = 0; r < 3; r++) {
      for (let c = 0; c < 3; c++) colour[i * 9 + r * 3 + c] = scale * (mat[r]?.[c] ?? 0);
    }
  }
  return { boxes, colour, offset };
}

/** Augmented views of `images` (NHWC in [−1, 1]), same shape, in [−1, 1]. */
export function augmentBatch(images: tf.Tensor4D, rng: Rng, s: AugmentSettings): tf.Tensor4D {
  const [n, height, width, channels] = images.shape;
  return applyAugmentParams(images, sampleAugmentParams(n, channels, rng, s), [height, width]);
}

/** Applies drawn parameters; the crop is resized back to `size` (the input's, for training). */
export function applyAugmentParams(
  images: tf.Tensor4D,
  p: AugmentParams,
  size: [number, number],
): tf.Tensor4D {
  const [n, , , channels] = images.shape;
  return tf.tidy(() => {
    const cropped = crops(images, p.boxes, size);
    const unit = tf.mul(tf.add(cropped, 1), 0.5);
    const pixels = tf.reshape(unit, [n, -1, channels]) as tf.Tensor3D;
    const m = channels === 3 ? 3 : 1;
    // Row-major A per image; pixels are rows, so the product takes Aᵀ.
    const matrices = tf.tensor3d(p.colour, [n, m, m]);
    const mixed = tf.matMul(pixels, matrices, false, true);
    const luma = channels === 3 ? tf.sum(tf.mul(pixels, tf.tensor1d([...LUMA])), 2) : pixels;
    const meanLuma = tf.reshape(tf.mean(luma, 1), [n, 1, 1]);
    const shifted = tf.add(mixed, tf.mul(tf.reshape(tf.tensor1d(p.offset), [n, 1, 1]), meanLuma));
    const clipped = tf.clipByValue(shifted, 0, 1);
    return tf.reshape(tf.sub(tf.mul(clipped, 2), 1), [n, size[0], size[1], channels]);
  });
}

/** Bilinear crops of the boxes, resized to `size`, from the image mirror-padded as they need. */
function crops(images: tf.Tensor4D, boxes: Float32Array, size: [number, number]): tf.Tensor4D {
  const [n] = images.shape;
  const { padY, padX, moved } = reflection(images, boxes);
  const boxTensor = tf.tensor2d(moved, [n, 4]);
  if (
    tf.getKernel(CROP_RESIZE_REFLECT, tf.getBackend()) !== undefined &&
    size[0] > 1 &&
    size[1] > 1
  ) {
    const attrs: CropResizeReflectAttrs = { padY, padX, cropHeight: size[0], cropWidth: size[1] };
    return tf
      .engine()
      .runKernel(
        CROP_RESIZE_REFLECT,
        { image: images, boxes: boxTensor },
        { ...attrs },
      ) as tf.Tensor4D;
  }
  const padded =
    padY === 0 && padX === 0
      ? images
      : tf.mirrorPad(
          images,
          [
            [0, 0],
            [padY, padY],
            [padX, padX],
            [0, 0],
          ],
          'symmetric',
        );
  const boxIndices = tf.range(0, n, 1, 'int32') as tf.Tensor1D;
  return tf.image.cropAndResize(padded, boxTensor, boxIndices, size, 'bilinear');
}

/**
 * Boxes reaching outside the image sample a mirror-padded copy (a reflected border continues
 * backgrounds and textures more plausibly than a constant), with the boxes moved into its
 * coordinates. Padding is only as wide as this batch's boxes need.
 */
function reflection(
  images: tf.Tensor4D,
  boxes: Float32Array,
): { padY: number; padX: number; moved: Float32Array } {
  const [n, height, width] = images.shape;
  let overY = 0;
  let overX = 0;
  for (let i = 0; i < n; i++) {
    for (const [k, isY] of [
      [0, true],
      [1, false],
      [2, true],
      [3, false],
    ] as const) {
      const v = boxes[i * 4 + k] ?? 0;
      const over = Math.max(0, -v, v - 1);
      if (isY) overY = Math.max(overY, over);
      else overX = Math.max(overX, over);
    }
  }
  // 'symmetric' padding can add at most one image side; settings keep boxes within that.
  const padY = Math.min(height, Math.ceil(overY * Math.max(1, height - 1)));
  const padX = Math.min(width, Math.ceil(overX * Math.max(1, width - 1)));
  if (padY === 0 && padX === 0) return { padY, padX, moved: boxes };
  // Pixel coordinate u = v·(side − 1) moves to u + pad in a padded side of side + 2·pad.
  const moved = new Float32Array(boxes.length);
  const toPadded = (v: number, side: number, pad: number): number =>
    (v * (side - 1) + pad) / Math.max(1, side + 2 * pad - 1);
  for (let i = 0; i < boxes.length; i++) {
    const isY = i % 2 === 0;
    moved[i] = isY ? toPadded(boxes[i] ?? 0, height, padY) : toPadded(boxes[i] ?? 0, width, padX);
  }
  return { padY, padX, moved };
}

/** s·I + (1 − s)·1·lumaᵀ: 1 is the identity, 0 maps every colour to its grey. */
function saturationMatrix(s: number): Mat3 {
  return [0, 1, 2].map((r) => LUMA.map((w, c) => (1 - s) * w + (r === c ? s : 0)));
}

/** YIQ⁻¹ · rotate(I, Q) · YIQ. */
function hueRotation(turns: number): Mat3 {
  const a = 2 * Math.PI * turns;
  const cos = Math.cos(a);
  const sin = Math.sin(a);
  const rotate: Mat3 = [
    [1, 0, 0],
    [0, cos, -sin],
    [0, sin, cos],
  ];
  const yiq = RGB_TO_YIQ.map((row) => [...row]);
  return mul(inverse3(yiq), mul(rotate, yiq));
}

function mul(a: Mat3, b: Mat3): Mat3 {
  return [0, 1, 2].map((r) =>
    [0, 1, 2].map((c) => [0, 1, 2].reduce((s, k) => s + at(a, r, k) * at(b, k, c), 0)),
  );
}

function inverse3(m: Mat3): Mat3 {
  const e = (r: number, c: number): number => at(m, r, c);
  const cof = (r: number, c: number): number => {
    // Cofactor from the 2×2 minor of the other rows and columns (cyclic order keeps the sign).
    const r1 = (r + 1) % 3;
    const r2 = (r + 2) % 3;
    const c1 = (c + 1) % 3;
    const c2 = (c + 2) % 3;
    return e(r1, c1) * e(r2, c2) - e(r1, c2) * e(r2, c1);
  };
  const det = e(0, 0) * cof(0, 0) + e(0, 1) * cof(0, 1) + e(0, 2) * cof(0, 2);
  return [0, 1, 2].map((r) => [0, 1, 2].map((c) => cof(c, r) / det));
}

function at(m: Mat3, r: number, c: number): number {
  return m[r]?.[c] ?? 0;
}
