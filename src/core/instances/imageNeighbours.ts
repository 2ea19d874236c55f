import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../checkpoint/atomicWrite';
import { loadFeatureExtractor } from '../features/featureExtractor';
import { decodeImageFile } from '../image/imageFile';
import { tileGrid } from '../image/imageGrid';
import { encodePng } from '../image/pngEncode';
import { knnForQueries } from '../neighbours/cosineKnn';
import { UserError } from '../errors';
import { INSTANCE_FILES, loadRunInstances } from './prepareInstances';
import { datasetImage, loadRunDataset } from './runDataset';

export interface Neighbour {
  index: number;
  similarity: number;
  label?: string;
}

export interface NeighboursResult {
  neighbours: Neighbour[];
  /** PNG strip: the image, then its neighbours, nearest first. */
  strip: string;
}

/** The training instances nearest an image (by the run's features), and a strip showing them. */
export async function neighboursOfImage(
  runDir: string,
  image: string,
  k: number,
  out?: string,
): Promise<NeighboursResult> {
  const index = loadRunInstances(runDir);
  if (k > index.count)
    throw new UserError(`-k: ${k} is more than the ${index.count} training instances`);
  const extractor = await loadFeatureExtractor(path.join(runDir, INSTANCE_FILES.extractor));
  try {
    const { height, channels } = extractor.input;
    const pixels = await decodeImageFile(image, height, channels, 'cover');
    const knn = await knnForQueries(
      index.features,
      index.count,
      index.dim,
      await extractor.embed(pixels, 1),
      1,
      k,
    );
    const data = await loadRunDataset(runDir, index.count);
    const names = data.classNames;
    const neighbours = [...knn.indices].map((i, n) => ({
      index: i,
      similarity: knn.similarities[n] as number,
      ...(data.labels && names ? { label: names[data.labels[i] ?? 0] } : {}),
    }));
    const size = height * data.width * channels;
    const cells = new Float32Array((k + 1) * size);
    cells.set(pixels, 0);
    neighbours.forEach((nb, n) => cells.set(datasetImage(data, nb.index), (n + 1) * size));
    const strip = tileGrid(cells, k + 1, height, data.width, channels, k + 1);
    const file = path.resolve(
      out ?? path.join(runDir, 'generated', `neighbours-${path.parse(image).name}.png`),
    );
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
    await writeFileAtomic(file, await encodePng(strip.pixels, strip.height, strip.width, channels));
    return { neighbours, strip: file };
  } finally {
    extractor.dispose();
  }
}
