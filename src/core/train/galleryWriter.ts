import * as fs from 'node:fs';
import * as path from 'node:path';
import type { GalleryEvent } from '../../protocol/runnerEvents';
import { writeFileAtomic } from '../checkpoint/atomicWrite';
import type { ImageDataset } from '../data/dataset';
import { renderGallery, type GalleryRow as GalleryImageRow } from '../instances/galleryImage';
import { pixelSpread } from '../metrics/sampleSpread';
import { Rng } from '../random/rng';
import { gatherRows, ownConditions } from '../sampling/conditionArrays';
import { generateImages } from '../sampling/generateImages';
import { disposeStats } from '../sampling/standingStats';
import type { TrainingSession } from './trainingSession';

export const GALLERIES_DIR = 'galleries';

/**
 * Writes the instance-neighbour gallery of an IC-GAN run: for each representative instance, the
 * instance, its k real neighbours and `samplesPerRow` images generated from its features (with
 * fixed noise, so galleries of successive steps are comparable). Returns the event to emit.
 */
export async function writeGallery(
  session: TrainingSession,
  data: ImageDataset,
  runDir: string,
  samplesPerRow: number,
  seed: number,
): Promise<GalleryEvent> {
  const index = session.instances;
  if (!index) throw new Error('galleries need an instance-conditioned run');
  const { model } = session;
  const size = data.height * data.width * data.channels;
  const image = (i: number): Float32Array => data.images.subarray(i * size, (i + 1) * size);
  const z = new Rng((seed + 0x6a11) >>> 0).normals(samplesPerRow * model.zDim);
  const stats = session.standingStats();
  const rows: GalleryImageRow[] = [];
  const described: GalleryEvent['rows'] = [];
  try {
    for (const instance of index.representatives) {
      const neighbours = [
        ...index.neighbours.subarray(instance * index.k, (instance + 1) * index.k),
      ];
      const repeated = new Int32Array(samplesPerRow).fill(instance);
      const samples = await generateImages(model, session.ema, stats, z, {
        instances: gatherRows(index.features, index.dim, repeated),
        ...ownConditions(model, index, repeated),
      });
      const neighbourPixels = new Float32Array(neighbours.length * size);
      neighbours.forEach((j, n) => neighbourPixels.set(image(j), n * size));
      rows.push({
        instance: image(instance),
        neighbours: neighbourPixels,
        samples: samples.pixels,
      });
      const label = data.labels?.[instance];
      const real = new Float32Array((neighbours.length + 1) * size);
      real.set(image(instance));
      real.set(neighbourPixels, size);
      described.push({
        instance,
        neighbours,
        spread: {
          samples: pixelSpread(samples.pixels, samplesPerRow),
          neighbours: pixelSpread(real, neighbours.length + 1),
        },
        ...(label !== undefined && data.classNames ? { label: data.classNames[label] } : {}),
      });
    }
  } finally {
    disposeStats(stats);
  }
  const png = await renderGallery(rows, {
    resolution: data.height,
    channels: data.channels,
    k: index.k,
    samplesPerRow,
  });
  await fs.promises.mkdir(path.join(runDir, GALLERIES_DIR), { recursive: true });
  const file = path.join(GALLERIES_DIR, `step-${String(session.step).padStart(8, '0')}.png`);
  await writeFileAtomic(path.join(runDir, file), png);
  await writeFileAtomic(path.join(runDir, GALLERIES_DIR, 'latest.png'), png);
  return {
    type: 'gallery',
    time: new Date().toISOString(),
    step: session.step,
    file,
    rows: described,
    samplesPerRow,
  };
}
