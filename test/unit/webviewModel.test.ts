import * as assert from 'node:assert/strict';
import sharp from 'sharp';
import { renderGallery } from '../../src/core/instances/galleryImage';
import {
  MAX_LOG_LINES,
  MAX_SUGGESTED_TAGS,
  MAX_TAG_SAMPLES,
  parseWebviewMessage,
  type DashboardState,
  type GeneratedView,
  type LossPoint,
  type RunSummary,
  type RunView,
  type SuggestedTagsView,
  type TagSamplesView,
} from '../../src/protocol/webviewMessages';
import {
  appendLoss,
  appendLosses,
  headerActions,
  initialModel,
  isHostMessage,
  latestRequested,
  meanSimilarity,
  pickableTags,
  reduce,
  requestGenerate,
  requestTagSamples,
  tagSamplesOf,
  transferViews,
  type DashboardModel,
} from '../../webview/dashboardModel';
import { galleryGeometry, galleryRowCrop } from '../../webview/galleryGeometry';
import { clampSmoothing, EmaSmoother, MAX_SMOOTHING, smooth } from '../../webview/smoothing';
import { parseCount, parseSeed, restoreUiState } from '../../webview/uiState';

function summary(name: string, patch: Partial<RunSummary> = {}): RunSummary {
  return {
    name,
    status: 'running',
    model: 'icgan',
    step: 0,
    totalSteps: 1000,
    backend: 'cpu',
    startedAt: '2024-01-01T00:00:00.000Z',
    updatedAt: '2024-01-01T00:00:00.000Z',
    hasCheckpoint: false,
    ...patch,
  };
}

function point(step: number, dLoss = 1): LossPoint {
  return { step, dLoss, gLoss: 2, dReal: 0.6, dFake: 0.4, imagesPerSec: 100 };
}

function runView(name: string, patch: Partial<RunView> = {}): RunView {
  return {
    summary: summary(name),
    backend: null,
    classNames: [],
    instanceConditioned: true,
    tagNames: [],
    losses: [],
    samples: [],
    gallery: null,
    diversity: null,
    log: [],
    ...patch,
  };
}

function tagSamples(patch: Partial<TagSamplesView> = {}): TagSamplesView {
  return {
    requestId: 1,
    run: 'run-b',
    tags: ['red', 'circle'],
    uri: 'https://file/tags.png',
    count: 16,
    columns: 4,
    ...patch,
  };
}

function suggested(patch: Partial<SuggestedTagsView> = {}): SuggestedTagsView {
  return {
    run: 'run-b',
    image: 'photo.png',
    tags: [
      { tag: 'red', score: 0.31, similarity: 0.52 },
      { tag: 'circle', score: 0.24, similarity: 0.47 },
    ],
    trained: true,
    embedding: 'onehot',
    ...patch,
  };
}

function generated(patch: Partial<GeneratedView> = {}): GeneratedView {
  return {
    run: 'run-b',
    source: { instance: 3 },
    gridUri: 'https://file/grid.png',
    count: 8,
    similarities: [0.5, 0.7],
    seed: 1,
    truncation: 1,
    ...patch,
  };
}

function withState(patch: Partial<DashboardState> = {}): DashboardModel {
  const state: DashboardState = {
    configPath: '/ws/shapes.icgan.json',
    configName: 'shapes',
    training: true,
    trusted: true,
    runs: [summary('run-b'), summary('run-a', { status: 'finished' })],
    current: runView('run-b', { losses: [point(10), point(20)] }),
    generated: [],
    tagSamples: [],
    suggestedTags: [],
    ...patch,
  };
  return reduce(initialModel, { type: 'state', state });
}

describe('webview dashboard model', () => {
  it('takes the full state', () => {
    const model = withState();
    assert.equal(model.state?.configName, 'shapes');
    assert.equal(model.state?.current?.summary.name, 'run-b');
    assert.equal(model.compare, null);
  });

  it('appends a step for the current run and updates its step', () => {
    const before = withState();
    const after = reduce(before, { type: 'steps', run: 'run-b', points: [point(30)] });
    assert.deepEqual(
      after.state?.current?.losses.map((p) => p.step),
      [10, 20, 30],
    );
    assert.equal(after.state?.current?.summary.step, 30);
    assert.equal(after.state?.runs.find((r) => r.name === 'run-b')?.step, 30);
    // Pure: the previous model is untouched, and unchanged points keep their identity.
    assert.equal(before.state?.current?.losses.length, 2);
    assert.equal(after.state?.current?.losses[0], before.state?.current?.losses[0]);
  });

  it('appends a batch of steps in order, and a replayed batch replaces the tail', () => {
    const before = withState();
    const after = reduce(before, {
      type: 'steps',
      run: 'run-b',
      points: [point(30), point(40), point(50)],
    });
    assert.deepEqual(
      after.state?.current?.losses.map((p) => p.step),
      [10, 20, 30, 40, 50],
    );
    assert.equal(after.state?.current?.summary.step, 50);
    assert.deepEqual(
      appendLosses([point(10), point(20), point(30)], [point(20, 7), point(25)]).map((p) => [
        p.step,
        p.dLoss,
      ]),
      [
        [10, 1],
        [20, 7],
        [25, 1],
      ],
    );
    assert.equal(reduce(before, { type: 'steps', run: 'run-b', points: [] }), before);
  });

  it('ignores a step for another run', () => {
    const before = withState();
    const after = reduce(before, { type: 'steps', run: 'run-a', points: [point(30)] });
    assert.equal(after, before);
    assert.equal(after.state?.current?.losses.length, 2);
  });

  it('replaces the tail when a resumed run replays steps', () => {
    const losses = [point(10), point(20), point(30), point(40)];
    assert.deepEqual(
      appendLoss(losses, point(30, 9)).map((p) => [p.step, p.dLoss]),
      [
        [10, 1],
        [20, 1],
        [30, 9],
      ],
    );
    assert.deepEqual(
      appendLoss([], point(5)).map((p) => p.step),
      [5],
    );
  });

  it('replaces the current run on `run` and lists it first', () => {
    const after = reduce(withState(), { type: 'run', view: runView('run-c') });
    assert.equal(after.state?.current?.summary.name, 'run-c');
    assert.equal(after.state?.current?.losses.length, 0);
    assert.deepEqual(
      after.state?.runs.map((r) => r.name),
      ['run-c', 'run-b', 'run-a'],
    );
  });

  it('updates the history row and the header on `summary`', () => {
    const model = withState();
    const after = reduce(model, {
      type: 'summary',
      summary: summary('run-a', { status: 'failed', message: 'NaN loss' }),
    });
    const row = after.state?.runs.find((r) => r.name === 'run-a');
    assert.equal(row?.status, 'failed');
    assert.equal(row?.message, 'NaN loss');
    assert.equal(after.state?.runs.length, 2);
    assert.equal(after.state?.current?.summary.name, 'run-b');

    const stopped = reduce(model, {
      type: 'summary',
      summary: summary('run-b', { status: 'stopped', step: 20, hasCheckpoint: true }),
    });
    assert.equal(stopped.state?.current?.summary.status, 'stopped');
    assert.equal(stopped.state?.runs[0]?.status, 'stopped');
  });

  it('does not step the header back on a stale running summary', () => {
    const model = reduce(withState(), { type: 'steps', run: 'run-b', points: [point(50)] });
    const after = reduce(model, { type: 'summary', summary: summary('run-b', { step: 40 }) });
    assert.equal(after.state?.current?.summary.step, 50);
  });

  it('caps the log at the newest MAX_LOG_LINES lines', () => {
    let model = withState();
    for (let i = 0; i < MAX_LOG_LINES + 25; i++) {
      model = reduce(model, { type: 'log', run: 'run-b', line: `line ${i}` });
    }
    const log = model.state?.current?.log ?? [];
    assert.equal(log.length, MAX_LOG_LINES);
    assert.equal(log[0], 'line 25');
    assert.equal(log[log.length - 1], `line ${MAX_LOG_LINES + 24}`);
    // A long log in a full view is capped too.
    const long = Array.from({ length: 500 }, (_, i) => String(i));
    const viewed = reduce(model, { type: 'run', view: runView('run-d', { log: long }) });
    assert.equal(viewed.state?.current?.log.length, MAX_LOG_LINES);
    assert.equal(viewed.state?.current?.log[0], '300');
  });

  it('adds samples and galleries of the current run only', () => {
    const grid = { step: 100, uri: 'u', count: 16, columns: 4 };
    const model = reduce(withState(), { type: 'samples', run: 'run-b', grid });
    assert.deepEqual(model.state?.current?.samples, [grid]);
    const other = reduce(model, { type: 'samples', run: 'run-a', grid: { ...grid, step: 200 } });
    assert.equal(other.state?.current?.samples.length, 1);
    const gallery = { step: 100, uri: 'g', rows: [], neighbours: 3, samplesPerRow: 4 };
    assert.equal(
      reduce(model, { type: 'gallery', run: 'run-b', gallery }).state?.current?.gallery,
      gallery,
    );
  });

  it('appends generated views and settles the pending request', () => {
    let model = requestGenerate(withState(), { requestId: 7, run: 'run-b', instance: 3 });
    assert.equal(model.pending?.requestId, 7);
    model = reduce(model, { type: 'generated', view: generated({ requestId: 6 }) });
    assert.equal(model.pending?.requestId, 7, 'another request does not settle it');
    model = reduce(model, { type: 'generated', view: generated({ requestId: 7, seed: 42 }) });
    assert.equal(model.pending, null);
    assert.equal(model.state?.generated.length, 2);
    assert.equal(latestRequested(model.state?.generated ?? [], 'run-b')?.seed, 42);
    assert.equal(model.transferSeq, 0);
  });

  it('counts transfers (no requestId) and lists them newest first', () => {
    let model = withState();
    model = reduce(model, { type: 'generated', view: generated({ source: { image: 'a.png' } }) });
    model = reduce(model, { type: 'generated', view: generated({ requestId: 1 }) });
    model = reduce(model, { type: 'generated', view: generated({ source: { image: 'b.png' } }) });
    assert.equal(model.transferSeq, 2);
    assert.deepEqual(
      transferViews(model.state?.generated ?? []).map((g) => 'image' in g.source && g.source.image),
      ['b.png', 'a.png'],
    );
  });

  it('shows generateFailed and clears the matching request', () => {
    const pending = requestGenerate(withState(), { requestId: 3, run: 'run-b', instance: 0 });
    const failed = reduce(pending, { type: 'generateFailed', requestId: 3, message: 'no ckpt' });
    assert.equal(failed.pending, null);
    assert.equal(failed.generateError, 'no ckpt');
    const stale = reduce(pending, { type: 'generateFailed', requestId: 2, message: 'old' });
    assert.equal(stale.pending?.requestId, 3);
    const retried = requestGenerate(failed, { requestId: 4, run: 'run-b', instance: 0 });
    assert.equal(retried.generateError, null);
  });

  it('loads a compared run and drops it when it becomes the current one', () => {
    let model = reduce(withState(), {
      type: 'runData',
      purpose: 'compare',
      view: runView('run-a', { losses: [point(1)] }),
    });
    assert.equal(model.compare?.summary.name, 'run-a');
    model = reduce(model, { type: 'runData', purpose: 'show', view: runView('run-a') });
    assert.equal(model.state?.current?.summary.name, 'run-a');
    assert.equal(model.compare, null);
  });

  it('tracks training and which header actions apply', () => {
    let model = withState();
    assert.deepEqual(headerActions(model.state as DashboardState), {
      train: false,
      stop: true,
      resume: false,
      enabled: true,
    });
    model = reduce(model, { type: 'training', training: false });
    model = reduce(model, {
      type: 'summary',
      summary: summary('run-b', { status: 'stopped', hasCheckpoint: true }),
    });
    assert.deepEqual(headerActions(model.state as DashboardState), {
      train: true,
      stop: false,
      resume: true,
      enabled: true,
    });
    const untrusted = withState({ trusted: false, training: false });
    assert.equal(headerActions(untrusted.state as DashboardState).enabled, false);
  });

  it('ignores deltas before the first state and unknown messages', () => {
    assert.equal(reduce(initialModel, { type: 'run', view: runView('x') }), initialModel);
    assert.equal(isHostMessage({ type: 'steps' }), true);
    assert.equal(isHostMessage({ type: 'nope' }), false);
    assert.equal(isHostMessage(null), false);
  });

  it('puts tag samples first, settles their request and keeps the newest few', () => {
    let model = requestTagSamples(withState(), { requestId: 5, run: 'run-b' });
    assert.equal(model.tagPending?.requestId, 5);
    model = reduce(model, { type: 'tagSamples', ...tagSamples({ requestId: 4, tags: ['blue'] }) });
    assert.equal(model.tagPending?.requestId, 5, 'another request does not settle it');
    const before = model;
    model = reduce(model, { type: 'tagSamples', ...tagSamples({ requestId: 5, uri: 'u5' }) });
    assert.equal(model.tagPending, null);
    assert.equal(model.tagError, null);
    assert.deepEqual(
      model.state?.tagSamples.map((t) => [t.requestId, t.uri, t.tags]),
      [
        [5, 'u5', ['red', 'circle']],
        [4, 'https://file/tags.png', ['blue']],
      ],
    );
    // The message's type does not leak into the stored view; the previous model is untouched.
    assert.equal('type' in (model.state?.tagSamples[0] ?? {}), false);
    assert.equal(before.state?.tagSamples.length, 1);
    // Only the current run's grids are shown, newest first.
    model = reduce(model, { type: 'tagSamples', ...tagSamples({ requestId: 6, run: 'run-a' }) });
    assert.deepEqual(
      tagSamplesOf(model.state?.tagSamples ?? [], 'run-b').map((t) => t.requestId),
      [5, 4],
    );
    for (let i = 0; i < MAX_TAG_SAMPLES + 3; i++) {
      model = reduce(model, { type: 'tagSamples', ...tagSamples({ requestId: 100 + i }) });
    }
    assert.equal(model.state?.tagSamples.length, MAX_TAG_SAMPLES);
    assert.equal(model.state?.tagSamples[0]?.requestId, 100 + MAX_TAG_SAMPLES + 2);
  });

  it('routes generateFailed to the tag request it answers, not the gallery', () => {
    let model = requestGenerate(withState(), { requestId: 1, run: 'run-b', instance: 0 });
    model = requestTagSamples(model, { requestId: 2, run: 'run-b' });
    const failed = reduce(model, {
      type: 'generateFailed',
      requestId: 2,
      message: "unknown tag 'mauve'",
    });
    assert.equal(failed.tagPending, null);
    assert.equal(failed.tagError, "unknown tag 'mauve'");
    assert.equal(failed.pending?.requestId, 1, 'the gallery request is still pending');
    assert.equal(failed.generateError, null);
    assert.equal(requestTagSamples(failed, { requestId: 3, run: 'run-b' }).tagError, null);
    // A gallery failure leaves the tag request alone.
    const gallery = reduce(model, { type: 'generateFailed', requestId: 1, message: 'x' });
    assert.equal(gallery.tagPending?.requestId, 2);
    assert.equal(gallery.tagError, null);
  });

  it('lists suggested tags newest first, capped, and counts them for the tab switch', () => {
    let model = withState();
    model = reduce(model, { type: 'suggestedTags', view: suggested({ image: 'a.png' }) });
    model = reduce(model, { type: 'suggestedTags', view: suggested({ image: 'b.png' }) });
    assert.deepEqual(
      model.state?.suggestedTags.map((v) => v.image),
      ['b.png', 'a.png'],
    );
    assert.equal(model.suggestedSeq, 2);
    assert.equal(model.state?.suggestedTags[0]?.tags[0]?.tag, 'red');
    for (let i = 0; i < MAX_SUGGESTED_TAGS + 5; i++) {
      model = reduce(model, { type: 'suggestedTags', view: suggested({ image: `${i}.png` }) });
    }
    assert.equal(model.state?.suggestedTags.length, MAX_SUGGESTED_TAGS);
    assert.equal(model.state?.suggestedTags[0]?.image, `${MAX_SUGGESTED_TAGS + 4}.png`);
    // The full state brings the host's list back (a rebuilt webview).
    const restored = reduce(initialModel, {
      type: 'state',
      state: { ...(model.state as DashboardState), suggestedTags: [suggested()] },
    });
    assert.equal(restored.state?.suggestedTags.length, 1);
    assert.equal(reduce(initialModel, { type: 'suggestedTags', view: suggested() }), initialModel);
    assert.equal(isHostMessage({ type: 'tagSamples' }), true);
    assert.equal(isHostMessage({ type: 'suggestedTags' }), true);
  });

  it("keeps only the picked tags a run's vocabulary has, in its order", () => {
    const names = ['blue', 'circle', 'red', 'square'];
    assert.deepEqual(pickableTags(names, ['red', 'mauve', 'blue']), ['blue', 'red']);
    assert.deepEqual(pickableTags([], ['red']), []);
  });

  it('averages similarities, skipping non-finite ones', () => {
    assert.equal(meanSimilarity([0.5, 0.7, Number.NaN]), 0.6);
    assert.equal(meanSimilarity([]), null);
  });
});

describe('webview loss smoothing', () => {
  const close = (actual: (number | null)[], expected: (number | null)[]) => {
    assert.equal(actual.length, expected.length);
    actual.forEach((a, i) => {
      const e = expected[i];
      if (e === null || e === undefined) assert.equal(a, e ?? null, `index ${i}`);
      else assert.ok(a !== null && Math.abs(a - e) < 1e-9, `index ${i}: ${a} vs ${e}`);
    });
  };

  it('is the identity at smoothing 0', () => {
    assert.deepEqual(smooth([3, -1, 2.5, 0], 0), [3, -1, 2.5, 0]);
  });

  it('is a debiased exponential moving average', () => {
    // w = 0.5: s0 = 1; s1 = (0.5·1 + 2) / 1.5; s2 = (0.25·1 + 0.5·2 + 3) / 1.75.
    close(smooth([1, 2, 3], 0.5), [1, 2.5 / 1.5, 4.25 / 1.75]);
    // A constant stays constant (no pull towards 0 at the start).
    close(smooth([4, 4, 4, 4], 0.9), [4, 4, 4, 4]);
  });

  it('turns non-finite values into gaps that do not poison the average', () => {
    close(smooth([1, Number.NaN, 2, Number.POSITIVE_INFINITY, 3], 0.5), [
      1,
      null,
      2.5 / 1.5,
      null,
      4.25 / 1.75,
    ]);
    assert.deepEqual(smooth([Number.NaN, 1], 0), [null, 1]);
  });

  it('matches the incremental smoother and clamps the weight', () => {
    const values = [0.3, 0.9, 0.1, 0.5, 0.7];
    const ema = new EmaSmoother(0.8);
    close(
      values.map((v) => ema.push(v)),
      smooth(values, 0.8),
    );
    assert.equal(clampSmoothing(2), MAX_SMOOTHING);
    assert.equal(clampSmoothing(-1), 0);
    assert.equal(clampSmoothing(Number.NaN), 0);
  });
});

describe('webview gallery geometry', () => {
  it('finds the cells of the gallery galleryImage.ts draws (2 px padding, blank gap cells)', () => {
    // r = 16, k = 3, m = 4: columns = 1 + 1 + 3 + 1 + 4 = 10; 2 rows.
    const r = 16;
    const width = 10 * r + 11 * 2;
    const height = 2 * r + 3 * 2;
    const g = galleryGeometry(width, height, 2, 3, 4);
    assert.ok(g);
    assert.deepEqual(
      [g.cellWidth, g.cellHeight, g.pad, g.gapColumns, g.columns, g.exact],
      [16, 16, 2, true, 10, true],
    );
    const crop = galleryRowCrop(g, 1);
    assert.ok(crop);
    const y = 2 + 18;
    assert.deepEqual(crop.instance, { x: 2, y, width: 16, height: 16 });
    // Neighbours start after the blank cell: column 2.
    assert.deepEqual(crop.neighbours, { x: 2 + 2 * 18, y, width: 3 * 16 + 2 * 2, height: 16 });
    // Samples start at column 1 + 1 + 3 + 1 = 6 and end at the right border.
    assert.deepEqual(crop.samples, { x: 2 + 6 * 18, y, width: 4 * 16 + 3 * 2, height: 16 });
    assert.equal(crop.samples.x + crop.samples.width, width - 2);
    assert.deepEqual(crop.row, { x: 2, y, width: width - 4, height: 16 });
  });

  it('crops the cells of a gallery the engine rendered', async () => {
    const [r, k, m, rows] = [8, 2, 3, 3];
    const size = r * r;
    // Model-space values: instance -1 → 0, neighbours -0.5 → 64, row i's samples → distinct greys.
    const sampleValue = (i: number) => 0.2 * i;
    const png = await renderGallery(
      Array.from({ length: rows }, (_, i) => ({
        instance: new Float32Array(size).fill(-1),
        neighbours: new Float32Array(k * size).fill(-0.5),
        samples: new Float32Array(m * size).fill(sampleValue(i)),
      })),
      { resolution: r, channels: 1, k, samplesPerRow: m },
    );
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    const at = (x: number, y: number) => data[(y * info.width + x) * info.channels];
    const g = galleryGeometry(info.width, info.height, rows, k, m);
    assert.ok(g?.exact, `no exact layout for ${info.width}×${info.height}`);
    assert.equal(g.cellWidth, r);
    const { cellWidth, cellHeight, pad } = g;
    const cellsOf = (x0: number, y0: number, n: number, expected: number) => {
      for (let c = 0; c < n; c++) {
        const left = x0 + c * (cellWidth + pad);
        for (let y = y0; y < y0 + cellHeight; y++) {
          for (let x = left; x < left + cellWidth; x++) {
            assert.equal(at(x, y), expected, `pixel ${x},${y}`);
          }
        }
      }
    };
    for (let i = 0; i < rows; i++) {
      const crop = galleryRowCrop(g, i);
      assert.ok(crop);
      cellsOf(crop.instance.x, crop.instance.y, 1, 0);
      cellsOf(crop.neighbours.x, crop.neighbours.y, k, 64);
      cellsOf(crop.samples.x, crop.samples.y, m, Math.round((sampleValue(i) + 1) * 127.5));
      // Just outside each group: padding or a blank cell (white).
      assert.equal(at(crop.instance.x + crop.instance.width, crop.instance.y), 255);
      assert.equal(at(crop.neighbours.x - 1, crop.neighbours.y), 255);
      assert.equal(at(crop.samples.x - 1, crop.samples.y), 255);
      assert.equal(at(crop.instance.x, crop.instance.y - 1), 255);
    }
  });

  it('reads a gallery without padding or gaps', () => {
    const g = galleryGeometry(8 * 28, 3 * 28, 3, 3, 4);
    assert.ok(g);
    assert.deepEqual([g.cellWidth, g.pad, g.gapColumns, g.exact], [28, 0, false, true]);
    assert.deepEqual(galleryRowCrop(g, 2)?.samples, { x: 4 * 28, y: 56, width: 112, height: 28 });
  });

  it('falls back to an even split for sizes no layout explains', () => {
    const g = galleryGeometry(101, 50, 2, 2, 2);
    assert.ok(g);
    assert.equal(g.exact, false);
    assert.equal(g.cellWidth, 101 / 5);
    assert.equal(g.cellHeight, 25);
  });

  it('handles no neighbours, bad rows and bad input', () => {
    // k = 0 still leaves both blank cells: 1 + 1 + 0 + 1 + 1 = 4 columns.
    const g = galleryGeometry(4 * 8 + 5 * 2, 8 + 2 * 2, 1, 0, 1);
    assert.ok(g);
    assert.equal(g.exact, true);
    assert.equal(galleryRowCrop(g, 0)?.neighbours.width, 0);
    assert.equal(galleryRowCrop(g, 1), null);
    assert.equal(galleryRowCrop(g, -1), null);
    assert.equal(galleryGeometry(0, 10, 1, 1, 1), null);
    assert.equal(galleryGeometry(10, 10, 0, 1, 1), null);
    assert.equal(galleryGeometry(10, 10, 1, 1.5, 1), null);
  });
});

describe('webview → host: sampleTags', () => {
  const good = {
    type: 'sampleTags',
    requestId: 4,
    run: 'run-b',
    tags: ['red', 'circle'],
    count: 16,
    seed: 9,
    truncation: 1,
  };

  it('accepts a well-formed request', () => {
    assert.deepEqual(parseWebviewMessage(good), good);
    assert.deepEqual(parseWebviewMessage({ ...good, extra: 1 }), good);
    assert.ok(parseWebviewMessage({ ...good, count: 1, tags: Array(64).fill('t') }));
    assert.ok(parseWebviewMessage({ ...good, count: 64 }));
  });

  it('rejects bad tags, counts and missing fields', () => {
    const { requestId: _id, ...noRequestId } = good;
    for (const bad of [
      { ...good, tags: [] },
      { ...good, tags: ['red', 3] },
      { ...good, tags: ['red', ''] },
      { ...good, tags: ['  '] },
      { ...good, tags: 'red' },
      { ...good, tags: Array(65).fill('t') },
      { ...good, count: 0 },
      { ...good, count: 65 },
      { ...good, count: 2.5 },
      { ...good, seed: 1.5 },
      { ...good, truncation: 0 },
      { ...good, truncation: Number.NaN },
      { ...good, run: 7 },
      { ...good, requestId: '4' },
      noRequestId,
    ]) {
      assert.equal(parseWebviewMessage(bad), null, JSON.stringify(bad));
    }
  });
});

describe('webview UI state', () => {
  it('restores valid fields and defaults the rest', () => {
    const ui = restoreUiState(
      { tab: 'gallery', smoothing: 0.3, seed: -4, count: 65, compareRun: 'run-a', sampleStep: 200 },
      99,
    );
    assert.equal(ui.tab, 'gallery');
    assert.equal(ui.smoothing, 0.3);
    assert.equal(ui.seed, 99);
    assert.equal(ui.count, 8);
    assert.equal(ui.compareRun, 'run-a');
    assert.equal(ui.sampleStep, 200);
    assert.equal(restoreUiState('garbage', 5).tab, 'losses');
    const tags = restoreUiState(
      { tab: 'tags', pickedTags: ['red', 'circle'], tagSeed: 7, tagCount: 4, tagTruncation: 0.8 },
      1,
    );
    assert.deepEqual(
      [tags.tab, tags.pickedTags, tags.tagSeed, tags.tagCount, tags.tagTruncation],
      ['tags', ['red', 'circle'], 7, 4, 0.8],
    );
    const bad = restoreUiState({ pickedTags: ['red', 3], tagCount: 0, tagTruncation: 9 }, 1);
    assert.deepEqual([bad.pickedTags, bad.tagCount, bad.tagTruncation], [[], 16, 1]);
  });

  it('parses seeds and counts strictly', () => {
    assert.equal(parseSeed(' 42 '), 42);
    assert.equal(parseSeed('4.2'), null);
    assert.equal(parseSeed('-1'), null);
    assert.equal(parseCount('64'), 64);
    assert.equal(parseCount('0'), null);
    assert.equal(parseCount('65'), null);
  });
});
