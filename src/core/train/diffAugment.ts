import * as tf from '@tensorflow/tfjs-core';
import type { AugmentConfig } from '../config/types';
import type { Rng } from '../random/rng';

/**
 * Differentiable augmentation (DiffAugment, Zhao et al. 2020): the same random colour, translation
 * and cutout applied to every image D sees, real and generated, in the D update and the G update
 * alike, so D cannot memorise the training images yet G's gradient passes through the
 * augmentation to the un-augmented image. Random numbers come from the training stream, so a
 * resumed run augments exactly as the uninterrupted one would.
 */
export function diffAugment(x: tf.Tensor4D, cfg: AugmentConfig, rng: Rng): tf.Tensor4D {
  return tf.tidy(() => {
    let y = x;
    if (cfg.colour) y = colour(y, rng);
    if (cfg.translation > 0) y = translate(y, cfg.translation, rng);
    if (cfg.cutout > 0) y = cutout(y, cfg.cutout, rng);
    return y;
  });
}

export function augments(cfg: AugmentConfig | undefined): cfg is AugmentConfig {
  return !!cfg && (cfg.colour || cfg.translation > 0 || cfg.cutout > 0);
}

/** Per image: brightness ± 0.5, saturation × [0, 2), contrast × [0.5, 1.5) (pixels in [-1, 1]). */
function colour(x: tf.Tensor4D, rng: Rng): tf.Tensor4D {
  const b = x.shape[0];
  const perImage = (f: () => number): tf.Tensor4D =>
    tf.tensor4d(Float32Array.from({ length: b }, f), [b, 1, 1, 1]);
  let y = tf.add(
    x,
    perImage(() => rng.uniform() - 0.5),
  );
  if (x.shape[3] > 1) {
    const grey = tf.mean(y, 3, true);
    y = tf.add(
      tf.mul(
        tf.sub(y, grey),
        perImage(() => rng.uniform() * 2),
      ),
      grey,
    );
  }
  const mean = tf.mean(y, [1, 2, 3], true);
  return tf.add(
    tf.mul(
      tf.sub(y, mean),
      perImage(() => rng.uniform() + 0.5),
    ),
    mean,
  ) as tf.Tensor4D;
}

/** Per image: a shift of up to ±fraction of the side in each direction, zeros moving in. */
function translate(x: tf.Tensor4D, fraction: number, rng: Rng): tf.Tensor4D {
  const [b, h, w] = x.shape;
  const sy = Math.round(h * fraction);
  const sx = Math.round(w * fraction);
  if (sy === 0 && sx === 0) return x;
  const padded = tf.pad(x, [
    [0, 0],
    [sy, sy],
    [sx, sx],
    [0, 0],
  ]);
  const shifted: tf.Tensor4D[] = [];
  for (let i = 0; i < b; i++) {
    const dy = rng.int(2 * sy + 1);
    const dx = rng.int(2 * sx + 1);
    shifted.push(tf.slice(padded, [i, dy, dx, 0], [1, h, w, x.shape[3]]));
  }
  return tf.concat(shifted, 0);
}

/** Per image: a square of fraction × side at a random centre set to 0 (mid-grey). */
function cutout(x: tf.Tensor4D, fraction: number, rng: Rng): tf.Tensor4D {
  const [b, h, w] = x.shape;
  const ch = Math.max(1, Math.round(h * fraction));
  const cw = Math.max(1, Math.round(w * fraction));
  const mask = new Float32Array(b * h * w).fill(1);
  for (let i = 0; i < b; i++) {
    // The square's centre anywhere in the image; the part outside it is clipped.
    const cy = rng.int(h + (1 - (ch % 2)));
    const cx = rng.int(w + (1 - (cw % 2)));
    const y0 = Math.max(0, cy - (ch >> 1));
    const x0 = Math.max(0, cx - (cw >> 1));
    const y1 = Math.min(h, cy - (ch >> 1) + ch);
    const x1 = Math.min(w, cx - (cw >> 1) + cw);
    for (let y = y0; y < y1; y++) mask.fill(0, (i * h + y) * w + x0, (i * h + y) * w + x1);
  }
  return tf.mul(x, tf.tensor4d(mask, [b, h, w, 1]));
}
