import { strict as assert } from 'node:assert';
import { fork, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import type { RunnerMessage } from '../../src/protocol/runnerCommands';
import type { RunEvent } from '../../src/protocol/runnerEvents';
import { CLI, icgan, REPO_ROOT } from './support/icganCli';
import { makeTempDir } from './support/tempDir';
import { tinyConfigJson } from './support/tinyConfig';

// These tests run the bundles that `npm run build` writes, as a user or the extension would.
const ROOT = REPO_ROOT;
const RUNNER = path.join(ROOT, 'dist', 'runner.js');

function writeConfig(dir: string, name: string, value: unknown): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, JSON.stringify(value, null, 2));
  return file;
}

function parseJsonLines(text: string): RunEvent[] {
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as RunEvent);
}

describe('icgan CLI (dist/cli.js)', function () {
  let dir: string;
  let cleanup: () => void;
  before(() => {
    assert.ok(
      fs.existsSync(CLI) && fs.existsSync(RUNNER),
      'dist/ is missing: run `npm run build` first',
    );
  });
  beforeEach(() => ({ dir, cleanup } = makeTempDir('cli')));
  afterEach(() => cleanup());

  it('rejects a bad config with one line naming the file and fields, and no stack trace', () => {
    const file = writeConfig(dir, 'bad.icgan.json', {
      data: { source: 'shapes', resolution: 100000 },
      model: { type: 'cgan', colour: 'red' },
    });
    const r = icgan(['train', file], dir);
    assert.equal(r.code, 1);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0] ?? '', /^icgan: error: .*bad\.icgan\.json: /);
    assert.match(r.stderr, /data\.resolution: must be <= 256/);
    assert.match(r.stderr, /model\.colour: unknown field/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  it('rejects bad flags and a missing run folder with a clear reason', () => {
    const steps = icgan(['train', 'x.icgan.json', '--steps', '0'], dir);
    assert.equal(steps.code, 1);
    assert.match(steps.stderr, /--steps must be a positive integer, got '0'/);
    const backend = icgan(['train', 'x.icgan.json', '--backend', 'tpu'], dir);
    assert.match(
      backend.stderr,
      /Allowed choices are auto, tfjs-node-gpu, tfjs-node, webgpu, wasm, cpu/,
    );
    const resume = icgan(['resume', path.join(dir, 'nope')], dir);
    assert.equal(resume.code, 1);
    assert.match(resume.stderr, /^icgan: error: .*nope: not a run folder/);
  });

  it('trains, resumes and samples: JSON events, a continued run and PNG grids', async () => {
    const file = writeConfig(dir, 'tiny.icgan.json', tinyConfigJson());
    const train = icgan(['train', file, '--steps', '6', '--json', '--backend', 'wasm'], dir);
    assert.equal(train.code, 0, train.stderr);
    const events = parseJsonLines(train.stdout);
    const started = events.find((e) => e.type === 'run-started');
    assert.ok(started?.type === 'run-started');
    assert.equal(started.backend.name, 'wasm');
    assert.equal(path.dirname(started.runDir), path.join(dir, 'runs'));
    assert.deepEqual(events.at(-1), {
      ...events.at(-1),
      type: 'run-ended',
      status: 'finished',
      step: 6,
    });

    const resume = icgan(['resume', started.runDir, '--steps', '9', '--json'], dir);
    assert.equal(resume.code, 0, resume.stderr);
    const resumed = parseJsonLines(resume.stdout);
    const firstStep = resumed.find((e) => e.type === 'step');
    assert.equal(firstStep?.type === 'step' && firstStep.step, 7);
    const last = resumed.at(-1);
    assert.equal(last?.type === 'run-ended' && last.step, 9);

    const out = path.join(dir, 'grid.png');
    const sample = icgan(
      ['sample', started.runDir, '-n', '9', '--class', 'triangle', '--seed', '3', '--out', out],
      dir,
    );
    assert.equal(sample.code, 0, sample.stderr);
    assert.equal(sample.stdout.trim(), out);
    const meta = await sharp(out).metadata();
    assert.equal(meta.width, 3 * 16 + 4 * 2);

    const again = path.join(dir, 'again.png');
    icgan(
      ['sample', started.runDir, '-n', '9', '--class', 'triangle', '--seed', '3', '--out', again],
      dir,
    );
    assert.ok(
      fs.readFileSync(out).equals(fs.readFileSync(again)),
      'the same seed must give the same grid',
    );

    const unknown = icgan(['sample', started.runDir, '--class', 'hexagon'], dir);
    assert.equal(unknown.code, 1);
    assert.match(
      unknown.stderr,
      /--class: unknown class 'hexagon' \(known: circle, square, triangle, cross\)/,
    );
  });
});

describe('icgan train interrupted (dist/cli.js)', function () {
  it('checkpoints and stops on SIGINT between steps, exiting 130', async () => {
    const { dir, cleanup } = makeTempDir('cli-sigint');
    try {
      const file = writeConfig(
        dir,
        'long.icgan.json',
        tinyConfigJson({ training: { steps: 100000, batchSize: 8, logEvery: 1 } }),
      );
      const child = spawn(process.execPath, [CLI, 'train', file, '--json'], {
        cwd: dir,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let sent = false;
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        // Once: a second SIGINT means "quit now" and skips the checkpoint.
        if (!sent && /"type":"step","time":"[^"]+","step":2,/.test(out)) {
          sent = true;
          child.kill('SIGINT');
        }
      });
      const code = await new Promise<number | null>((resolve) =>
        child.on('exit', (c) => resolve(c)),
      );
      assert.equal(code, 130);
      const ended = parseJsonLines(out).at(-1);
      assert.ok(ended?.type === 'run-ended' && ended.status === 'stopped', out.slice(-300));
      assert.ok(ended.step < 6, `stopped only at step ${ended.step}`);
      assert.match(ended.lastCheckpoint ?? '', /ckpt-0+\d\.icgan-ckpt$/);
    } finally {
      cleanup();
    }
  });
});

describe('runner process (dist/runner.js)', function () {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = makeTempDir('runner')));
  afterEach(() => cleanup());

  function startRunner(): {
    messages: RunnerMessage[];
    child: ReturnType<typeof fork>;
    exited: Promise<number | null>;
  } {
    const child = fork(RUNNER, [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    const messages: RunnerMessage[] = [];
    child.on('message', (m) => messages.push(m as RunnerMessage));
    const exited = new Promise<number | null>((resolve) =>
      child.on('exit', (code) => resolve(code)),
    );
    return { messages, child, exited };
  }

  it('streams events over IPC and stops with a checkpoint on request', async () => {
    const file = writeConfig(
      dir,
      'tiny.icgan.json',
      tinyConfigJson({ training: { steps: 5000, batchSize: 8, logEvery: 1 } }),
    );
    const { messages, child, exited } = startRunner();
    child.on('message', (m) => {
      const msg = m as RunnerMessage;
      if (msg.type === 'event' && msg.event.type === 'step' && msg.event.step === 3)
        child.send({ type: 'stop' });
    });
    child.send({ type: 'train', configPath: file, backend: 'wasm' });
    assert.equal(await exited, 0);
    const events = messages.flatMap((m) => (m.type === 'event' ? [m.event] : []));
    const ended = events.at(-1);
    assert.ok(ended?.type === 'run-ended', JSON.stringify(messages.at(-1)));
    assert.equal(ended.status, 'stopped');
    // Samples and checkpoints are every 6 steps: stopping before step 6 shows the request was
    // seen between steps, not only at the next file write.
    assert.ok(ended.step >= 3 && ended.step < 6, `stopped at ${ended.step}`);
    assert.match(ended.lastCheckpoint ?? '', /ckpt-0+\d+\.icgan-ckpt$/);
    assert.deepEqual(messages.at(-1), { type: 'exit', code: 0 });
  });

  it('answers a bad config with an error message that names the failing field', async () => {
    const file = writeConfig(dir, 'bad.icgan.json', {
      data: { source: 'shapes' },
      model: { type: 'cgan' },
      training: { batchSize: 0 },
    });
    const { messages, child, exited } = startRunner();
    child.send({ type: 'train', configPath: file });
    assert.equal(await exited, 1);
    const error = messages.find((m) => m.type === 'error');
    assert.deepEqual(error, {
      type: 'error',
      message: `${file}: training.batchSize: must be >= 1`,
      configFile: file,
      field: 'training.batchSize',
    });
  });
});

describe('icgan generate / neighbours (dist/cli.js)', function () {
  let dir: string;
  let cleanup: () => void;
  let runDir: string;
  before(function () {
    ({ dir, cleanup } = makeTempDir('cli-icgan'));
    const file = writeConfig(
      dir,
      'ic.icgan.json',
      tinyConfigJson({
        model: { type: 'icgan-class', zDim: 16, gWidth: 8, dWidth: 8, embedDim: 8 },
        training: { steps: 4, batchSize: 8, logEvery: 1 },
        instances: { k: 3, representatives: 2, features: { kind: 'pixels', pcaDim: 16 } },
      }),
    );
    const r = icgan(['train', file, '--json'], dir);
    assert.equal(r.code, 0, r.stderr);
    const started = parseJsonLines(r.stdout).find((e) => e.type === 'run-started');
    assert.ok(started?.type === 'run-started');
    runDir = started.runDir;
  });
  after(() => cleanup());

  it('generates from an image never seen in training, keeping the most similar candidates', async () => {
    const image = path.join(dir, 'unseen.png');
    // A shape the generator of shapes never drew: a yellow ring on blue.
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><rect width="40" height="40" fill="#2040c0"/><circle cx="20" cy="20" r="12" fill="none" stroke="#ffe020" stroke-width="5"/></svg>`;
    await sharp(Buffer.from(svg)).png().toFile(image);
    const out = path.join(dir, 'gen');
    const r = icgan(
      [
        'generate',
        runDir,
        '--image',
        image,
        '-n',
        '5',
        '--candidates',
        '20',
        '--out',
        out,
        '--json',
      ],
      dir,
    );
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout) as {
      files: string[];
      grid: string;
      similarities: number[];
      className: string;
    };
    assert.equal(result.files.length, 5);
    assert.ok(result.files.every((f) => fs.existsSync(f)));
    const sims = result.similarities;
    assert.deepEqual(
      sims,
      [...sims].sort((a, b) => b - a),
      'kept candidates are ranked by similarity',
    );
    assert.ok(['circle', 'square', 'triangle', 'cross'].includes(result.className));
    const grid = await sharp(result.grid).metadata();
    // 6 cells (the conditioning image first) in rows of 3.
    assert.equal(grid.width, 3 * 16 + 4 * 2);
    assert.equal(grid.height, 2 * 16 + 3 * 2);
  });

  it('lists the nearest training instances of an image', () => {
    const image = path.join(dir, 'query.png');
    fs.copyFileSync(path.join(runDir, 'samples', 'latest.png'), image);
    const r = icgan(['neighbours', runDir, '--image', image, '-k', '3', '--json'], dir);
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout) as {
      neighbours: { index: number; similarity: number }[];
      strip: string;
    };
    assert.equal(result.neighbours.length, 3);
    const sims = result.neighbours.map((n) => n.similarity);
    assert.deepEqual(
      sims,
      [...sims].sort((a, b) => b - a),
    );
    assert.ok(fs.existsSync(result.strip));
  });

  it('evaluates a run: PRDC and Fréchet distance in named features, and the conditioning similarity', () => {
    const r = icgan(['eval', runDir, '--samples', '64', '--classifier-steps', '20', '--json'], dir);
    assert.equal(r.code, 0, r.stderr);
    const e = JSON.parse(r.stdout) as Record<string, number | string | Record<string, number>>;
    for (const k of ['precision', 'recall', 'coverage'] as const) {
      assert.ok(typeof e[k] === 'number' && e[k] >= 0 && e[k] <= 1, `${k} = ${String(e[k])}`);
    }
    assert.ok(typeof e.density === 'number' && e.density >= 0);
    assert.ok(typeof e.frechet === 'number' && e.frechet >= 0);
    assert.match(String(e.features), /classifier trained on the data set/);
    const c = e.conditioning as { own: number; random: number };
    assert.ok(Math.abs(c.own) <= 1 && Math.abs(c.random) <= 1);
  });

  it('names an unreadable image and a wrong flag combination in one line', () => {
    const broken = path.join(dir, 'broken.png');
    fs.writeFileSync(broken, Buffer.from('not an image at all'));
    const r = icgan(['generate', runDir, '--image', broken], dir);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`icgan: error: .*broken\\.png`));
    const both = icgan(['generate', runDir, '--image', broken, '--instance', '1'], dir);
    assert.match(both.stderr, /give exactly one of --image <file> and --instance <index>/);
  });
});
