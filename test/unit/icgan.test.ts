import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { initBackend } from '../../src/core/backend/backendChain';
import { loadFeatureExtractor } from '../../src/core/features/featureExtractor';
import { INSTANCE_FILES } from '../../src/core/instances/prepareInstances';
import { conditioningSimilarity } from '../../src/core/metrics/conditioningSimilarity';
import { readEvents } from '../../src/core/run/eventLog';
import { RUN_FILES } from '../../src/core/run/runFolder';
import { loadGenerator } from '../../src/core/sampling/loadGenerator';
import { resumeRun, trainNew } from '../../src/core/train/trainJob';
import type { DiversityEvent, GalleryEvent, RunEvent } from '../../src/protocol/runnerEvents';
import { makeTempDir } from './support/tempDir';
import { tinyConfig } from './support/tinyConfig';

describe('IC-GAN training', function () {
  let dir: string;
  let cleanup: () => void;
  before(async () => {
    await initBackend('wasm');
  });
  beforeEach(() => ({ dir, cleanup } = makeTempDir('icgan')));
  afterEach(() => cleanup());

  const icganConfig = (type: 'icgan' | 'icgan-class', steps: number) =>
    tinyConfig(dir, {
      seed: 5,
      data: { source: 'shapes', count: 512, resolution: 16 },
      model: { type, zDim: 16, gWidth: 16, dWidth: 16, embedDim: 16 },
      training: { steps, batchSize: 16, logEvery: 10 },
      samples: { every: steps, count: 16 },
      checkpoints: { every: steps, keep: 1 },
      // PCA pixel features are quick to fit and carry colour and layout, which a briefly trained
      // generator learns first: the conditioning is visible after a few hundred steps.
      instances: {
        k: 5,
        representatives: 3,
        galleryEvery: steps,
        gallerySamples: 4,
        features: { kind: 'pixels', pcaDim: 32 },
      },
    });

  it('stores the index and extractor, writes galleries and resumes without recomputing features', async () => {
    const events: RunEvent[] = [];
    const ended = await trainNew(icganConfig('icgan-class', 4), { onEvent: (e) => events.push(e) });
    assert.equal(ended.status, 'finished');
    const started = events.find((e) => e.type === 'run-started');
    assert.ok(started?.type === 'run-started');
    const runDir = started.runDir;
    assert.ok(fs.existsSync(path.join(runDir, INSTANCE_FILES.index)));
    assert.ok(fs.existsSync(path.join(runDir, INSTANCE_FILES.extractor)));

    const gallery = readEvents(path.join(runDir, RUN_FILES.events)).find(
      (e): e is GalleryEvent => e.type === 'gallery',
    );
    assert.ok(gallery, 'no gallery event');
    assert.equal(gallery.rows.length, 3);
    for (const row of gallery.rows) {
      assert.equal(row.neighbours.length, 5);
      assert.ok(!row.neighbours.includes(row.instance));
      assert.ok(['circle', 'square', 'triangle', 'cross'].includes(row.label ?? ''));
      // Real images of one neighbourhood differ; the spreads are grey levels (0–255 scale).
      assert.ok(row.spread && row.spread.neighbours > 1 && row.spread.neighbours < 128);
      assert.ok(row.spread.samples >= 0 && row.spread.samples < 128);
    }
    // The collapse watch reads one group per representative instance at every sample grid.
    const watch = events.filter((e): e is DiversityEvent => e.type === 'diversity');
    assert.deepEqual(
      watch.map((e) => e.step),
      events.filter((e) => e.type === 'samples').map((e) => e.step),
    );
    assert.deepEqual(
      watch[0]?.groups.map((g) => g.name),
      gallery.rows.map((r) => `instance ${r.instance}`),
    );
    const meta = await sharp(path.join(runDir, gallery.file)).metadata();
    // 3 rows; columns: instance, gap, 5 neighbours, gap, 4 samples = 12 cells of 16 px + padding.
    assert.equal(meta.width, 12 * 16 + 13 * 2);
    assert.equal(meta.height, 3 * 16 + 4 * 2);

    const resumed: RunEvent[] = [];
    await resumeRun(runDir, { steps: 6, onEvent: (e) => resumed.push(e) });
    const logs = resumed.flatMap((e) => (e.type === 'log' ? [e.message] : []));
    assert.ok(
      !logs.some((m) => m.startsWith('features:')),
      `features recomputed on resume: ${logs.join(' | ')}`,
    );
    const last = resumed.at(-1);
    assert.ok(last?.type === 'run-ended' && last.status === 'finished' && last.step === 6);
  });

  it('rejects a neighbourhood size the data set cannot satisfy', async () => {
    const cfg = icganConfig('icgan', 4);
    cfg.data = { source: 'shapes', count: 5, resolution: 16, seed: 1 };
    await assert.rejects(
      trainNew(cfg),
      /instances\.k: 5 neighbours need more than 5 images, but the data set has 5/,
    );
  });

  it('generates, from an instance, samples nearer that instance than a random one', async () => {
    const events: RunEvent[] = [];
    await trainNew(icganConfig('icgan', 300), { onEvent: (e) => events.push(e) });
    const started = events.find((e) => e.type === 'run-started');
    assert.ok(started?.type === 'run-started');
    const gen = loadGenerator(started.runDir);
    const extractor = await loadFeatureExtractor(
      path.join(started.runDir, INSTANCE_FILES.extractor),
    );
    try {
      assert.ok(gen.instances);
      const sim = await conditioningSimilarity(
        gen.model,
        gen.model.generatorParams,
        gen.stats,
        gen.instances,
        extractor,
        {
          instances: 48,
          samplesPerInstance: 4,
          seed: 11,
        },
      );
      console.log(
        `      cosine to own instance ${sim.own.toFixed(3)}, to a random one ${sim.random.toFixed(3)}`,
      );
      assert.ok(sim.own > sim.random + 0.1, `own ${sim.own} vs random ${sim.random}`);
    } finally {
      gen.dispose();
      extractor.dispose();
    }
  });
});
