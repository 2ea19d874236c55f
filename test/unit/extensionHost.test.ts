import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { lastEventOfType } from '../../src/core/run/eventTail';
import type { RunInfo } from '../../src/core/run/runFolder';
import { listRuns, runsDirOfConfig } from '../../src/core/run/runIndex';
import { findFieldOffset, isOnTopLevelKey } from '../../src/extension/configText';
import {
  contentSecurityPolicy,
  createNonce,
  dashboardHtml,
} from '../../src/extension/dashboardHtml';
import { describeExit, RunnerProcess, runJob } from '../../src/extension/runnerProcess';
import { buildRunView, thinLosses } from '../../src/extension/runViews';
import type { RunEvent, RunStartedEvent } from '../../src/protocol/runnerEvents';
import { parseWebviewMessage } from '../../src/protocol/webviewMessages';
import { makeTempDir } from './support/tempDir';
import { tinyConfigJson } from './support/tinyConfig';

// The extension host's pieces that don't need VS Code: the runner client (against the real
// dist/runner.js), run discovery, the dashboard's views, the HTML shell and the protocol guard.
const ROOT = path.join(__dirname, '..', '..');
const RUNNER = path.join(ROOT, 'dist', 'runner.js');

describe('extension host: runner client, run index and dashboard views', function () {
  let dir: string;
  let cleanup: () => void;
  let configPath: string;
  let events: RunEvent[];
  let runDir: string;

  before(async function () {
    assert.ok(fs.existsSync(RUNNER), 'dist/runner.js is missing: run `npm run build` first');
    ({ dir, cleanup } = makeTempDir('exthost'));
    configPath = path.join(dir, 'tiny-ic.icgan.json');
    fs.writeFileSync(
      configPath,
      JSON.stringify(
        tinyConfigJson({
          model: { type: 'icgan-class', zDim: 16, gWidth: 8, dWidth: 8, embedDim: 8 },
          training: { steps: 8, batchSize: 8, logEvery: 1 },
          samples: { every: 4, count: 16 },
          checkpoints: { every: 4, keep: 2 },
          instances: {
            k: 3,
            representatives: 2,
            galleryEvery: 8,
            gallerySamples: 2,
            features: { kind: 'pixels', pcaDim: 8 },
          },
          tagging: { steps: 40, batchSize: 16 },
        }),
      ),
    );
    events = [];
    const runner = new RunnerProcess(
      { type: 'train', configPath, backend: 'wasm' },
      { runnerPath: RUNNER, nodePath: process.execPath, onEvent: (e) => events.push(e) },
    );
    const exit = await runner.exited;
    assert.equal(exit.code, 0, describeExit(exit));
    const started = events.find((e) => e.type === 'run-started');
    assert.ok(started?.type === 'run-started');
    runDir = started.runDir;
  });
  after(() => cleanup());

  it('streams a training through RunnerProcess, with class names and the instance flag', () => {
    const started = events.find((e) => e.type === 'run-started');
    assert.ok(started?.type === 'run-started');
    assert.deepEqual(started.classNames, ['circle', 'square', 'triangle', 'cross']);
    assert.equal(started.instanceConditioned, true);
    assert.equal(events.filter((e) => e.type === 'step').length, 8);
    assert.equal(events.at(-1)?.type, 'run-ended');
  });

  it('finds the run of a config (and none of another) newest first', () => {
    const runsDir = runsDirOfConfig(configPath);
    assert.equal(runsDir, path.join(dir, 'runs'));
    const runs = listRuns(runsDir, configPath);
    assert.equal(runs.length, 1);
    assert.equal(runs[0]?.dir, runDir);
    assert.equal(runs[0]?.info.status, 'finished');
    assert.equal(runs[0]?.hasCheckpoint, true);
    assert.deepEqual(listRuns(runsDir, path.join(dir, 'other.icgan.json')), []);
    assert.deepEqual(listRuns(path.join(dir, 'nowhere')), []);
    // A config mid-edit still gets the default runs folder; an override wins.
    fs.writeFileSync(path.join(dir, 'broken.icgan.json'), '{ "runsDir": ');
    assert.equal(runsDirOfConfig(path.join(dir, 'broken.icgan.json')), path.join(dir, 'runs'));
    assert.equal(runsDirOfConfig(configPath, 'elsewhere'), path.join(dir, 'elsewhere'));
  });

  it("shows a 'running' run whose process is gone as failed, still resumable", () => {
    const record = listRuns(path.join(dir, 'runs'), configPath)[0];
    assert.ok(record);
    const copy = path.join(dir, 'runs', `${record.name}-crashed`);
    fs.cpSync(record.dir, copy, { recursive: true });
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    const info = JSON.parse(fs.readFileSync(path.join(copy, 'run.json'), 'utf8')) as RunInfo;
    for (const [pid, expected] of [
      [dead, 'failed'],
      [process.pid, 'running'],
    ] as const) {
      fs.writeFileSync(
        path.join(copy, 'run.json'),
        JSON.stringify({ ...info, status: 'running', pid, hostname: os.hostname() }),
      );
      const found = listRuns(path.join(dir, 'runs'), configPath).find((r) => r.dir === copy);
      assert.equal(found?.info.status, expected);
      if (expected === 'failed') assert.match(found?.info.message ?? '', /killed or crashed/);
    }
    fs.rmSync(copy, { recursive: true });
  });

  it('builds the dashboard view of a run from its folder, every file mapped through toUri', () => {
    const record = listRuns(path.join(dir, 'runs'), configPath)[0];
    assert.ok(record);
    const view = buildRunView(record, (p) => `uri:${path.relative(runDir, p)}`);
    assert.equal(view.summary.status, 'finished');
    assert.equal(view.backend?.name, 'wasm');
    assert.deepEqual(view.classNames, ['circle', 'square', 'triangle', 'cross']);
    assert.equal(view.instanceConditioned, true);
    assert.deepEqual(view.tagNames, [], 'a class-conditioned run offers no tags');
    assert.deepEqual(
      view.losses.map((p) => p.step),
      [1, 2, 3, 4, 5, 6, 7, 8],
    );
    assert.ok(view.losses.every((p) => Number.isFinite(p.dLoss) && Number.isFinite(p.gLoss)));
    assert.deepEqual(
      view.samples.map((s) => [s.step, s.uri]),
      [
        [4, `uri:${path.join('samples', 'step-00000004.png')}`],
        [8, `uri:${path.join('samples', 'step-00000008.png')}`],
      ],
    );
    assert.ok(view.gallery);
    assert.equal(view.gallery.rows.length, 2);
    assert.equal(view.gallery.neighbours, 3);
    assert.equal(view.gallery.samplesPerRow, 2);
    assert.match(view.log.join('\n'), /started .* on wasm/);
    assert.match(view.log.at(-1) ?? '', /finished at step 8/);
  });

  it('reads the newest step from the tail of events.jsonl', () => {
    const file = path.join(runDir, 'events.jsonl');
    assert.equal(lastEventOfType(file, 'step')?.step, 8);
    // A tail window too small to hold a full step line finds nothing rather than garbage.
    assert.equal(lastEventOfType(file, 'step', 10), null);
    assert.equal(lastEventOfType(path.join(dir, 'missing.jsonl'), 'step'), null);
  });

  it('generates from an unseen image and from a training instance through the runner', async () => {
    const image = path.join(dir, 'unseen.png');
    await sharp({
      create: { width: 40, height: 40, channels: 3, background: { r: 200, g: 30, b: 30 } },
    })
      .png()
      .toFile(image);
    const fromImage = await runJob(
      {
        type: 'generate',
        runDir,
        source: { image },
        count: 4,
        candidates: 8,
        truncation: 1,
        seed: 3,
        neighbours: 3,
        backend: 'wasm',
      },
      { runnerPath: RUNNER, nodePath: process.execPath },
    );
    assert.equal(fromImage.files.length, 4);
    assert.ok(fs.existsSync(fromImage.grid) && fs.existsSync(fromImage.neighboursStrip ?? ''));
    assert.equal(fromImage.neighbours?.length, 3);
    assert.ok(fromImage.similarities.every((s, i, a) => i === 0 || s <= (a[i - 1] as number)));
    const fromInstance = await runJob(
      {
        type: 'generate',
        runDir,
        source: { instance: 5 },
        count: 2,
        candidates: 2,
        className: 'cross',
        truncation: 0.5,
        seed: 1,
        backend: 'wasm',
      },
      { runnerPath: RUNNER, nodePath: process.execPath },
    );
    assert.equal(fromInstance.className, 'cross');
    await assert.rejects(
      runJob(
        {
          type: 'generate',
          runDir,
          source: { instance: 0 },
          count: 2,
          candidates: 2,
          className: 'hexagon',
          truncation: 1,
          seed: 1,
          backend: 'wasm',
        },
        { runnerPath: RUNNER, nodePath: process.execPath },
      ),
      /hexagon/,
    );
  });

  it("suggests tags for an image through the runner, its tagger's training log as events", async () => {
    const image = path.join(dir, 'unseen-tags.png');
    await sharp({
      create: { width: 40, height: 40, channels: 3, background: { r: 30, g: 30, b: 200 } },
    })
      .png()
      .toFile(image);
    const logs: string[] = [];
    const output = await runJob(
      { type: 'tag', runDir, images: [image], top: 5, seed: 0, backend: 'wasm' },
      {
        runnerPath: RUNNER,
        nodePath: process.execPath,
        onEvent: (e) => {
          if (e.type === 'log') logs.push(e.message);
        },
      },
    );
    assert.equal(output.trained, true);
    assert.equal(output.images.length, 1);
    assert.equal(output.images[0]?.tags.length, 5);
    assert.ok(output.images[0]?.tags.every((t) => t.score >= 0 && t.score <= 1));
    assert.ok(
      logs.some((l) => /tagger/.test(l)),
      logs.join('\n'),
    );
  });

  it('reports a runner that cannot start, and one that is killed', async () => {
    const missing = new RunnerProcess(
      { type: 'train', configPath },
      { runnerPath: RUNNER, nodePath: path.join(dir, 'no-such-node') },
    );
    const exit = await missing.exited;
    assert.match(describeExit(exit), /cannot start the runner/);

    const runner = new RunnerProcess(
      { type: 'train', configPath: path.join(dir, 'tiny-ic.icgan.json'), steps: 100000 },
      { runnerPath: RUNNER, nodePath: process.execPath },
    );
    runner.kill();
    const killed = await runner.exited;
    assert.equal(killed.signal, 'SIGKILL');
    assert.match(describeExit(killed), /killed by SIGKILL/);
    assert.equal(runner.running, false);
  });
});

describe('extension host: pure pieces', () => {
  it('finds a config error field in the JSON text', () => {
    const text =
      '{\n  "data": { "source": "shapes", "resolution": 99 },\n  "model": { "type": "x" }\n}';
    assert.equal(findFieldOffset(text, 'data.resolution'), text.indexOf('"resolution"'));
    assert.equal(findFieldOffset(text, 'model.type'), text.indexOf('"type"'));
    // A missing leaf points at its parent; a missing root at nothing.
    assert.equal(findFieldOffset(text, 'model.zDim'), text.indexOf('"model"'));
    assert.equal(findFieldOffset(text, 'training.steps'), -1);
    // The same key nested elsewhere is not confused with the path's.
    const nested = '{ "a": { "type": 1 }, "model": { "type": 2 } }';
    assert.equal(findFieldOffset(nested, 'model.type'), nested.lastIndexOf('"type"'));
  });

  it('applies the preview hover on top-level keys only', () => {
    const text = '{\n  "name": "x",\n  "model": { "type": "icgan" }\n}';
    assert.equal(isOnTopLevelKey(text, text.indexOf('name')), true);
    assert.equal(isOnTopLevelKey(text, text.indexOf('model') + 2), true);
    assert.equal(isOnTopLevelKey(text, text.indexOf('type')), false);
    assert.equal(isOnTopLevelKey(text, text.indexOf('"x"')), false);
    assert.equal(isOnTopLevelKey('{ "a": "b": ', 3), true);
  });

  it('writes a dashboard shell with a nonce-only script policy and no inline code', () => {
    const nonce = createNonce();
    assert.notEqual(nonce, createNonce());
    assert.ok(Buffer.from(nonce, 'base64url').length >= 16);
    const html = dashboardHtml({
      cspSource: 'https://x.vscode-cdn.net',
      scriptUri: 'https://x.vscode-cdn.net/dist/webview.js',
      styleUri: 'https://x.vscode-cdn.net/dist/webview.css',
      title: '<b>"t"</b>',
      nonce,
    });
    const csp = contentSecurityPolicy('https://x.vscode-cdn.net', nonce);
    assert.ok(html.includes(csp.replace(/'/g, '&#39;')));
    assert.match(csp, /^default-src 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
    assert.equal((html.match(/<script/g) ?? []).length, 1);
    assert.match(html, new RegExp(`<script nonce="${nonce}" src=`));
    assert.doesNotMatch(html, /<style|\sstyle=|\son\w+=/);
    assert.ok(html.includes('&lt;b&gt;&quot;t&quot;&lt;/b&gt;'));
  });

  it('accepts protocol messages and rejects everything else without throwing', () => {
    assert.deepEqual(parseWebviewMessage({ type: 'ready' }), { type: 'ready' });
    assert.deepEqual(parseWebviewMessage({ type: 'stop', extra: 1 }), { type: 'stop' });
    const gen = {
      type: 'generate',
      requestId: 1,
      run: 'r',
      instance: 3,
      seed: 9,
      truncation: 1,
      count: 8,
    };
    assert.deepEqual(parseWebviewMessage(gen), gen);
    for (const bad of [
      null,
      7,
      'ready',
      [],
      { type: 'rm -rf' },
      { type: 'resume' },
      { type: 'loadRun', run: 'r', purpose: 'delete' },
      { ...gen, instance: -1 },
      { ...gen, count: 1e9 },
      { ...gen, truncation: Number.NaN },
      { ...gen, className: 5 },
    ]) {
      assert.equal(parseWebviewMessage(bad), null, JSON.stringify(bad));
    }
    // Random junk never throws.
    let seed = 1;
    const rand = (): number => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)] as T;
    for (let i = 0; i < 2000; i++) {
      const m: Record<string, unknown> = {
        type: pick(['ready', 'generate', 'resume', 'loadRun', 'x', 3, null]),
      };
      for (const k of ['requestId', 'run', 'instance', 'seed', 'truncation', 'count', 'purpose']) {
        if (rand() < 0.7) m[k] = pick([0, -1, 1.5, 'a', null, {}, [], 1e300, 'show', 4]);
      }
      parseWebviewMessage(m);
    }
  });

  it("gives a run's view the tag vocabulary of its run-started event", () => {
    const { dir, cleanup } = makeTempDir('tagview');
    try {
      const started: RunStartedEvent = {
        type: 'run-started',
        time: '2026-01-01T00:00:00.000Z',
        runDir: dir,
        runName: 'r',
        configPath: path.join(dir, 'x.icgan.json'),
        model: 'icgan-class',
        dataset: 'shapes',
        backend: { name: 'cpu', tfBackend: 'cpu', attempts: [], threads: 1, simd: null },
        startStep: 0,
        totalSteps: 10,
        resumed: false,
        parameters: { generator: 1, discriminator: 1 },
        classNames: [],
        instanceConditioned: true,
        tagNames: ['blue', 'circle', 'red'],
      };
      const record = {
        dir,
        name: 'r',
        hasCheckpoint: true,
        info: {
          version: 1,
          name: 'r',
          status: 'finished',
          configPath: started.configPath,
          model: 'icgan-class',
          backend: 'cpu',
          step: 10,
          totalSteps: 10,
          startedAt: started.time,
          updatedAt: started.time,
          trainingSeconds: 1,
        } satisfies RunInfo,
      };
      const viewOf = (e: RunStartedEvent) => {
        fs.writeFileSync(path.join(dir, 'events.jsonl'), `${JSON.stringify(e)}\n`);
        return buildRunView(record, (p) => p);
      };
      assert.deepEqual(viewOf(started).tagNames, ['blue', 'circle', 'red']);
      // A run from before tags existed has no tagNames field.
      const { tagNames: _tags, ...old } = started;
      const oldView = viewOf({ ...old, classNames: ['circle', 'square'] });
      assert.deepEqual(oldView.tagNames, []);
      assert.deepEqual(oldView.classNames, ['circle', 'square']);
      // A run without an event log yet offers no tags either.
      fs.rmSync(path.join(dir, 'events.jsonl'));
      assert.deepEqual(buildRunView(record, (p) => p).tagNames, []);
    } finally {
      cleanup();
    }
  });

  it('thins long loss histories evenly and keeps the newest point', () => {
    const points = Array.from({ length: 10001 }, (_, i) => ({
      step: i + 1,
      dLoss: 0,
      gLoss: 0,
      dReal: 0,
      dFake: 0,
      imagesPerSec: 0,
    }));
    const thin = thinLosses(points, 1000);
    assert.ok(thin.length <= 1000 && thin.length > 900);
    assert.equal(thin.at(-1)?.step, 10001);
    assert.deepEqual(thinLosses(points.slice(0, 5), 1000), points.slice(0, 5));
  });

  it('keeps TensorFlow out of the extension host bundle', () => {
    const bundle = fs.readFileSync(path.join(ROOT, 'dist', 'extension.js'), 'utf8');
    assert.ok(bundle.length > 1000);
    assert.doesNotMatch(bundle, /tfjs-core|@tensorflow|require\("sharp"\)/);
  });
});
