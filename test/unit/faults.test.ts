import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeCheckpoint } from '../../src/core/checkpoint/checkpointFile';
import { listCheckpoints } from '../../src/core/checkpoint/checkpointStore';
import { readEvents } from '../../src/core/run/eventLog';
import type { RunEvent } from '../../src/protocol/runnerEvents';
import { Rng } from '../../src/core/random/rng';
import { makeTempDir } from './support/tempDir';
import { tinyConfigJson } from './support/tinyConfig';

// Kills and full disks against the bundled CLI, the way a user's machine would do it.
const CLI = path.join(__dirname, '..', '..', 'dist', 'cli.js');
const EVERY = 3;

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  events: RunEvent[];
  stderr: string;
}

/**
 * Runs the CLI and SIGKILLs it when `killWhen` says so (checked on every event and, for
 * mid-write kills, on every new temporary file in the checkpoints folder).
 */
function runAndKill(
  args: string[],
  killWhen: (events: RunEvent[]) => boolean,
  checkpointsDir: () => string | undefined,
  killDuringWrite: boolean,
): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args, '--json', '--backend', 'wasm'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const events: RunEvent[] = [];
    let stderr = '';
    let pending = '';
    let watcher: fs.FSWatcher | undefined;
    const kill = (): void => {
      if (child.exitCode === null) child.kill('SIGKILL');
    };
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) events.push(JSON.parse(line) as RunEvent);
      const dir = checkpointsDir();
      if (killDuringWrite && !watcher && dir && events.some((e) => e.type === 'step')) {
        // The atomic writer's temporary file appearing = a checkpoint write in progress.
        watcher = fs.watch(dir, (_t, name) => {
          if (name?.startsWith('.tmp-')) kill();
        });
      }
      if (!killDuringWrite && killWhen(events)) kill();
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('exit', (code, signal) => {
      watcher?.close();
      resolve({ code, signal, events, stderr });
    });
  });
}

function maxStep(events: RunEvent[]): number {
  return events.reduce((m, e) => (e.type === 'step' ? Math.max(m, e.step) : m), 0);
}

describe('faults: SIGKILL at random moments, full and read-only disks', function () {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = makeTempDir('faults')));
  afterEach(() => cleanup());

  it('survives 20 kills (half of them inside a checkpoint write) without a corrupt checkpoint', async function () {
    const config = path.join(dir, 'kill.icgan.json');
    fs.writeFileSync(
      config,
      JSON.stringify(
        tinyConfigJson({
          training: { steps: 100000, batchSize: 8, logEvery: 1 },
          samples: { every: EVERY, count: 16 },
          checkpoints: { every: EVERY, keep: 2 },
        }),
      ),
    );
    const rng = new Rng(2026);
    let runDir: string | undefined;
    let kills = 0;
    let writeKills = 0;
    let resumedFrom: number | undefined;
    for (let i = 0; i < 20; i++) {
      const duringWrite = i % 2 === 1;
      // Random moments: between 1 and 15 steps after the first one this process runs.
      const after = 1 + Math.floor(rng.uniform() * 15);
      let firstStep: number | undefined;
      const outcome = await runAndKill(
        runDir ? ['resume', runDir] : ['train', config],
        (events) => {
          const steps = events.filter((e) => e.type === 'step');
          firstStep ??= steps[0]?.type === 'step' ? steps[0].step : undefined;
          return firstStep !== undefined && maxStep(events) >= firstStep + after;
        },
        () => (runDir ? path.join(runDir, 'checkpoints') : undefined),
        duringWrite && runDir !== undefined,
      );
      const started = outcome.events.find((e) => e.type === 'run-started');
      assert.ok(started?.type === 'run-started', `kill ${i}: ${outcome.stderr}`);
      runDir ??= started.runDir;
      if (resumedFrom !== undefined) {
        assert.equal(
          started.startStep,
          resumedFrom,
          `kill ${i} resumed from the newest checkpoint`,
        );
      }
      assert.equal(outcome.signal, 'SIGKILL', `kill ${i}: the process ended by itself`);
      kills++;
      if (duringWrite && runDir) writeKills++;

      // Every checkpoint on disk verifies (magic, SHA-256, tensor sizes).
      const ckpts = listCheckpoints(path.join(runDir, 'checkpoints'));
      assert.ok(ckpts.length > 0, `kill ${i}: no checkpoint`);
      for (const c of ckpts) decodeCheckpoint(fs.readFileSync(c.file));
      // The event log parses (a torn last line is tolerated) ...
      const logged = readEvents(path.join(runDir, 'events.jsonl'));
      // ... and at most one checkpoint interval of steps was lost.
      const reached = Math.max(maxStep(outcome.events), maxStep(logged));
      const newest = ckpts[0]?.step ?? 0;
      assert.ok(reached - newest <= EVERY, `kill ${i}: reached ${reached}, newest ${newest}`);
      resumedFrom = newest;
    }
    assert.equal(kills, 20);
    assert.ok(writeKills >= 9, `only ${writeKills} kills landed during a write`);
    // And the run still finishes.
    const done = spawnSync(
      process.execPath,
      [CLI, 'resume', runDir ?? '', '--steps', String((resumedFrom ?? 0) + 4), '--backend', 'wasm'],
      { encoding: 'utf8', timeout: 120_000 },
    );
    assert.equal(done.status, 0, done.stderr);
    const info = JSON.parse(fs.readFileSync(path.join(runDir ?? '', 'run.json'), 'utf8')) as {
      status: string;
    };
    assert.equal(info.status, 'finished');
  });

  describe('on a small tmpfs', function () {
    let mnt: string;
    before(function () {
      // Needs root (CI and this machine run as root); a failure to mount is a failure.
      assert.equal(process.getuid?.(), 0, 'the disk-fault tests mount a tmpfs and need root');
    });
    beforeEach(() => {
      mnt = path.join(dir, 'mnt');
      fs.mkdirSync(mnt);
    });
    afterEach(() => {
      spawnSync('umount', [mnt]);
    });

    function mount(options: string): void {
      const r = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', mnt], {
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, `mount -o ${options}: ${r.stderr}`);
    }

    it('stops on a full disk with one line naming the path and the last good checkpoint', () => {
      mount('size=600k');
      const config = path.join(dir, 'full.icgan.json');
      fs.writeFileSync(
        config,
        JSON.stringify(
          tinyConfigJson({
            runsDir: path.join(mnt, 'runs'),
            training: { steps: 100000, batchSize: 8, logEvery: 1 },
            samples: { every: 100000, count: 4 },
            checkpoints: { every: 2, keep: 5 },
          }),
        ),
      );
      const r = spawnSync(process.execPath, [CLI, 'train', config, '--backend', 'wasm', '--json'], {
        encoding: 'utf8',
        timeout: 120_000,
      });
      assert.equal(r.status, 1);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(
        lines[0] ?? '',
        /^icgan: error: cannot write (a checkpoint )?in .*mnt.*: no space left on device/,
      );
      const good = /the last good checkpoint is (checkpoints\/ckpt-\d+\.icgan-ckpt)/.exec(r.stderr);
      assert.ok(good, r.stderr);
      const runs = fs.readdirSync(path.join(mnt, 'runs'));
      assert.equal(runs.length, 1);
      const runDir = path.join(mnt, 'runs', runs[0] ?? '');
      decodeCheckpoint(fs.readFileSync(path.join(runDir, good[1] ?? '')));
      assert.doesNotThrow(() => readEvents(path.join(runDir, 'events.jsonl')));
    });

    it('refuses a read-only runs folder with one line naming it', () => {
      mount('size=64k');
      fs.mkdirSync(path.join(mnt, 'runs'));
      spawnSync('mount', ['-o', 'remount,ro', mnt]);
      const config = path.join(dir, 'ro.icgan.json');
      fs.writeFileSync(config, JSON.stringify(tinyConfigJson({ runsDir: path.join(mnt, 'runs') })));
      const r = spawnSync(process.execPath, [CLI, 'train', config, '--backend', 'wasm', '--json'], {
        encoding: 'utf8',
        timeout: 120_000,
      });
      assert.equal(r.status, 1);
      assert.match(
        r.stderr.trim(),
        /^icgan: error: run folder .*mnt\/runs\/.* cannot be created: EROFS$/,
      );
    });
  });
});
