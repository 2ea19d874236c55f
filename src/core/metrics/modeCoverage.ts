/**
 * Mode coverage on stacked data (VEEGAN, Srivastava et al. 2017; PacGAN, Lin et al. 2018): each
 * generated image's channels are read by a classifier of the single-channel data, the tuple of
 * classes is its mode, and the histogram of modes over many samples is compared with the data's
 * uniform one — how many modes got at least one sample, and the KL divergence of the sample
 * histogram from uniform, KL(p_samples ‖ p_data) = Σ p log(p · modes).
 */
export interface ModeCoverage {
  samples: number;
  modes: number;
  covered: number;
  kl: number;
}

/** `perChannel[c][i]`: the class read from channel c of sample i; `classes` per channel. */
export function modeCoverage(perChannel: readonly Int32Array[], classes: number): ModeCoverage {
  const n = perChannel[0]?.length ?? 0;
  const modes = classes ** perChannel.length;
  const counts = new Float64Array(modes);
  for (let i = 0; i < n; i++) {
    let mode = 0;
    for (const channel of perChannel) mode = mode * classes + (channel[i] ?? 0);
    counts[mode]!++;
  }
  let covered = 0;
  let kl = 0;
  for (const c of counts) {
    if (c === 0) continue;
    covered++;
    const p = c / n;
    kl += p * Math.log(p * modes);
  }
  return { samples: n, modes, covered, kl };
}

/** Channel `c` of NHWC images as single-channel images. */
export function channelOf(
  images: Float32Array,
  n: number,
  channels: number,
  c: number,
): Float32Array {
  const area = images.length / n / channels;
  const out = new Float32Array(n * area);
  for (let i = 0; i < n * area; i++) out[i] = images[i * channels + c]!;
  return out;
}
