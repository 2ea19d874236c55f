/**
 * Runs the PyTorch mirror (bench/mirror/train.py) on an engine config: exports the config's
 * training images so both sides see the same data, writes the job, and waits for the samples.
 *
 *   npx tsx bench/mirrorRun.ts CONFIG.icgan.json [--steps 3000,20000] [--seconds 300]
 *                              [--samples 2000] [--seed 1] [--out DIR] [--source ema|raw]
 *                              [--threads 2]
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadConfigFile } from '../src/core/config/loadConfig';
import type { TrainConfig } from '../src/core/config/types';
import { loadDataset } from '../src/core/data/loadDataset';
import { needsLabels } from '../src/core/models/modelCapabilities';
import { resolveDiscriminator } from '../src/core/models/discriminatorOptions';
import { flag, log } from './harness';
import { ensureTorchPeer } from './peers/torchPeer';

export interface MirrorOptions {
  out: string;
  seed: number;
  samples: number;
  atSteps?: number[];
  atSeconds?: number[];
  source?: 'ema' | 'raw';
  threads?: number;
}

/** Trains the mirror of `config`; returns the folders of its sample sets, in order. */
export async function runMirror(config: TrainConfig, opts: MirrorOptions): Promise<string[]> {
  if (config.model.type !== 'dcgan' && config.model.type !== 'cgan') {
    throw new Error(`the mirror covers dcgan and cgan, not '${config.model.type}'`);
  }
  const data = await loadDataset(config.data, () => undefined);
  fs.mkdirSync(opts.out, { recursive: true });
  const images = path.join(opts.out, 'data.f32');
  fs.writeFileSync(
    images,
    Buffer.from(data.images.buffer, data.images.byteOffset, data.images.byteLength),
  );
  let labels: string | null = null;
  const numClasses = needsLabels(config.model) ? (data.classNames?.length ?? 0) : 0;
  if (numClasses > 0 && data.labels) {
    labels = path.join(opts.out, 'labels.f32');
    fs.writeFileSync(labels, Buffer.from(Float32Array.from(data.labels).buffer));
  }
  // What 'auto' settings resolve to, by the engine's own rule (never restated here).
  const resolved = resolveDiscriminator(config.model.type, config.model);
  const job = {
    model: config.model,
    training: config.training,
    resolved,
    numClasses,
    seed: opts.seed,
    threads: opts.threads ?? 2,
    data: {
      images,
      labels,
      n: data.count,
      side: data.height,
      channels: data.channels,
    },
    samples: {
      count: opts.samples,
      atSteps: opts.atSteps ?? [],
      atSeconds: opts.atSeconds ?? [],
      source: opts.source ?? 'ema',
      out: opts.out,
    },
  };
  const jobFile = path.join(opts.out, 'job.json');
  fs.writeFileSync(jobFile, JSON.stringify(job, null, 2));
  const peer = ensureTorchPeer(log);
  const r = spawnSync(peer.python, ['-s', path.join(__dirname, 'mirror', 'train.py'), jobFile], {
    env: { ...process.env, ...peer.env, OMP_WAIT_POLICY: 'PASSIVE' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  fs.rmSync(images, { force: true });
  if (labels) fs.rmSync(labels, { force: true });
  if (r.status !== 0) throw new Error(`the mirror failed (exit ${r.status})`);
  return [
    ...(opts.atSeconds ?? []).map((s) => path.join(opts.out, `${s}s`)),
    ...(opts.atSteps ?? []).map((s) => path.join(opts.out, `step-${s}`)),
  ];
}

if (require.main === module) {
  const file = process.argv[2];
  if (!file || file.startsWith('--')) throw new Error('usage: mirrorRun.ts CONFIG [options]');
  const list = (name: string): number[] => flag(name, '').split(',').filter(Boolean).map(Number);
  const config = loadConfigFile(path.resolve(file));
  runMirror(config, {
    out: path.resolve(flag('out', 'mirror-out')),
    seed: Number(flag('seed', '1')),
    samples: Number(flag('samples', '2000')),
    atSteps: list('steps'),
    atSeconds: list('seconds'),
    source: flag('source', 'ema') as 'ema' | 'raw',
    threads: Number(flag('threads', '2')),
  })
    .then((dirs) => console.log(dirs.join('\n')))
    .catch((err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    });
}
