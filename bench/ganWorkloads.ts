import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolveConfig } from '../src/core/config/loadConfig';
import type { TrainConfig } from '../src/core/config/types';
import type { ImageDataset } from '../src/core/data/dataset';
import { createShapesDataset } from '../src/core/data/shapesDataset';
import { resolveFeatureSettings } from '../src/core/features/featureSettings';
import type { InstanceIndex } from '../src/core/instances/instanceIndex';
import { TrainingSession } from '../src/core/train/trainingSession';
import { syntheticInstances } from '../test/support/syntheticInstances';

// The GAN workloads the training-step benchmarks time (trainStep.ts against PyTorch: dcgan and
// icgan; the kernel A/B benches: any), defined once so all time the same step. `demo` is the
// `npm run demo` config (examples/shapes-cgan.icgan.json) as it resolves.

export type GanWorkload = 'dcgan' | 'icgan' | 'demo';

/** Images generated for the data set: the step's cost does not depend on how many there are. */
const DATA_COUNT = 2048;
const ICGAN_EXAMPLE = path.join(__dirname, '..', 'examples', 'shapes-icgan.icgan.json');
const DEMO_EXAMPLE = path.join(__dirname, '..', 'examples', 'shapes-cgan.icgan.json');

export function benchConfig(workload: GanWorkload): TrainConfig {
  if (workload === 'demo') return exampleConfig(DEMO_EXAMPLE);
  if (workload === 'dcgan') {
    return resolveConfig(
      {
        seed: 0,
        data: { source: 'shapes', count: DATA_COUNT, resolution: 32 },
        // The DCGAN-32 reference trainStep.py mirrors, pinned against the project's defaults.
        model: {
          type: 'dcgan',
          zDim: 100,
          gWidth: 32,
          dWidth: 32,
          dNorm: 'batch',
          dMinibatchStd: false,
        },
        training: { batchSize: 64, loss: 'nonsaturating', gLr: 2e-4, dLr: 2e-4, beta1: 0.5 },
      },
      path.join(__dirname, 'bench.icgan.json'),
    );
  }
  // The example as the project resolves it, with a smaller (generated) data set, and the
  // architecture trainStep.py mirrors: batch-norm D, one minibatch statistic over the batch, the
  // non-saturating loss and β1 0.5 (the example's recipe uses spectral norm, groups of 4 and hinge;
  // trainStep.py has neither, and the parameter counts must match).
  return exampleConfig(ICGAN_EXAMPLE, (raw) => {
    Object.assign(raw.model, { dNorm: 'batch', groupSize: 0 });
    Object.assign(raw.training, { loss: 'nonsaturating', beta1: 0.5 });
  });
}

interface RawExample {
  data: { count: number };
  model: Record<string, unknown>;
  training: Record<string, unknown>;
}

/** An example config as the project resolves it, on DATA_COUNT generated images, after `edit`. */
function exampleConfig(
  file: string,
  edit: (raw: RawExample) => void = () => undefined,
): TrainConfig {
  const raw = JSON.parse(fs.readFileSync(file, 'utf8')) as RawExample;
  raw.data.count = DATA_COUNT;
  edit(raw);
  return resolveConfig(raw, file);
}

export function shapesData(cfg: TrainConfig): ImageDataset {
  return createShapesDataset(cfg.data as never);
}

/** A training session on the workload's generated data (IC-GAN: with synthetic instances). */
export function ganSession(workload: GanWorkload): { cfg: TrainConfig; session: TrainingSession } {
  const cfg = benchConfig(workload);
  const data = shapesData(cfg);
  let instances: InstanceIndex | null = null;
  if (workload === 'icgan') {
    const features = resolveFeatureSettings(cfg.instances.features as never);
    if (features.kind !== 'selfsupervised') throw new Error('the IC-GAN example changed kind');
    instances = syntheticInstances(data.count, features.dim, cfg.instances.k);
  }
  return { cfg, session: new TrainingSession(cfg, data, instances) };
}
