import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SampleOutput } from '../../protocol/runnerCommands';
import { writeFileAtomic } from '../checkpoint/atomicWrite';
import { tileGrid } from '../image/imageGrid';
import { encodePng } from '../image/pngEncode';
import { Rng } from '../random/rng';
import { RUN_FILES } from '../run/runFolder';
import { generateImages, gridColumns, gridConditions } from './generateImages';
import { loadGenerator, resolveClass } from './loadGenerator';
import {
  applyConditionRequest,
  hasConditionRequest,
  type ConditionRequest,
} from './conditionRequest';

export interface SampleOptions extends ConditionRequest {
  count: number;
  /** Class name or index; without it a conditional model gets one class per grid row. */
  className?: string;
  truncation: number;
  seed: number;
  /** Output PNG; default: samples/sample-<time>.png in the run folder. */
  out?: string;
}

export type SampleResult = SampleOutput;

/** Writes a grid of samples from a run's newest checkpoint (EMA generator). */
export async function sampleRun(
  runDir: string,
  opts: SampleOptions,
  warn?: (msg: string) => void,
): Promise<SampleResult> {
  const gen = loadGenerator(runDir, warn);
  try {
    const { model, meta } = gen;
    const columns = gridColumns(opts.count);
    const cond = gridConditions(
      model,
      opts.count,
      columns,
      gen.instances,
      meta.conditionExamples ?? [],
    );
    if (opts.className !== undefined) {
      cond.labels = new Int32Array(opts.count).fill(resolveClass(meta, opts.className));
    }
    if (hasConditionRequest(opts)) {
      cond.vectors = applyConditionRequest(
        meta,
        cond.vectors ?? new Float32Array(0),
        opts.count,
        opts,
      );
    }
    const z = new Rng(opts.seed).normals(opts.count * model.zDim, opts.truncation);
    const images = await generateImages(model, model.generatorParams, gen.stats, z, cond);
    const { resolution: r, channels: c } = model.image;
    const grid = tileGrid(images.pixels, opts.count, r, r, c, columns);
    const png = await encodePng(grid.pixels, grid.height, grid.width, c);
    const file = path.resolve(
      opts.out ??
        path.join(
          runDir,
          RUN_FILES.samples,
          `sample-${new Date().toISOString().replace(/[:.]/g, '-')}.png`,
        ),
    );
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
    await writeFileAtomic(file, png);
    return { file, count: opts.count, columns, step: meta.step };
  } finally {
    gen.dispose();
  }
}
