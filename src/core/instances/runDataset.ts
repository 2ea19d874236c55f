import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DataConfig } from '../config/types';
import type { ImageDataset } from '../data/dataset';
import { loadDataset } from '../data/loadDataset';
import { UserError } from '../errors';
import { loadRunInstances } from './prepareInstances';
import { RUN_FILES } from '../run/runFolder';

/**
 * The training images of a run, loaded from its resolved config — to show an instance or its
 * neighbours. Indices into the run's instance index stay valid as long as the data are unchanged;
 * a different image count means they aren't.
 */
export async function loadRunDataset(
  runDir: string,
  expectedCount: number,
  log: (l: string) => void = () => undefined,
): Promise<ImageDataset> {
  const config = JSON.parse(fs.readFileSync(path.join(runDir, RUN_FILES.config), 'utf8')) as {
    data: DataConfig;
  };
  const data = await loadDataset(config.data, log);
  if (data.count !== expectedCount) {
    throw new UserError(
      `${runDir}: the training data changed since the run (${data.count} images now, ${expectedCount} when it trained)`,
    );
  }
  return data;
}

/** Image `i` of a data set (a view, not a copy). */
export function datasetImage(data: ImageDataset, i: number): Float32Array {
  const size = data.height * data.width * data.channels;
  return data.images.subarray(i * size, (i + 1) * size);
}

/** Reads a training image by index, for showing an instance next to what was generated from it. */
export async function trainingImageLoader(runDir: string): Promise<(i: number) => Float32Array> {
  const data = await loadRunDataset(runDir, loadRunInstances(runDir).count);
  return (i) => datasetImage(data, i);
}
