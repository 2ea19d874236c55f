import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listRuns } from '../../src/core/run/runIndex';
import { readEvents } from '../../src/core/run/eventLog';
import { describeExit, RunnerProcess } from '../../src/extension/runnerProcess';
import type { RunEvent } from '../../src/protocol/runnerEvents';
import { makeTempDir } from './support/tempDir';
import { tinyConfigJson } from './support/tinyConfig';

// The runner's life as the extension sees it: its host dying, and two trainings side by side.
const ROOT = path.join(__dirname, '..', '..');
const RUNNER = path.join(ROOT, 'dist', 'runner.js');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(what: string, probe: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('runner lifecycle', function () {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = makeTempDir('lifecycle')));
  afterEach(() => cleanup());

  function writeConfig(name: string, steps: number): string {
    const file = path.join(dir, name);
    fs.writeFileSync(
      file,
      JSON.stringify(
        tinyConfigJson({
          training: { steps, batchSize: 8, logEvery: 1 },
          checkpoints: { every: 1000, keep: 2 },
          samples: { every: 1000, count: 16 },
        }),
      ),
    );
    return file;
  }

  it('leaves no orphan when the host dies: the runner checkpoints and exits', async () => {
    const config = writeConfig('orphan.icgan.json', 1_000_000);
    const host = spawn(
      process.execPath,
      ['-r', 'tsx/cjs', path.join(__dirname, 'support', 'fakeHost.ts'), RUNNER, config],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    host.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    await waitFor('the first step', () => /pid \d+/.test(out), 60_000);
    const pid = Number(/pid (\d+)/.exec(out)?.[1]);
    const runDir = /run (.+)/.exec(out)?.[1] ?? '';
    assert.ok(alive(pid));
    host.kill('SIGKILL');
    // The IPC channel closes with the host; the runner stops at the end of its step.
    await waitFor('the runner to exit', () => !alive(pid), 30_000);
    const info = JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8')) as {
      status: string;
      lastCheckpoint?: string;
      step: number;
    };
    assert.equal(info.status, 'stopped');
    assert.match(info.lastCheckpoint ?? '', /ckpt-\d+\.icgan-ckpt$/);
  });

  it('keeps two trainings at once isolated: own process, run folder and events', async () => {
    const a = writeConfig('a.icgan.json', 30);
    const b = writeConfig('b.icgan.json', 20);
    const events = new Map<string, RunEvent[]>([
      [a, []],
      [b, []],
    ]);
    const runners = [a, b].map(
      (config) =>
        new RunnerProcess(
          { type: 'train', configPath: config, backend: 'wasm' },
          {
            runnerPath: RUNNER,
            nodePath: process.execPath,
            onEvent: (e) => events.get(config)?.push(e),
          },
        ),
    );
    assert.notEqual(runners[0]?.pid, runners[1]?.pid);
    const exits = await Promise.all(runners.map((r) => r.exited));
    for (const exit of exits) assert.equal(exit.code, 0, describeExit(exit));
    const runsDir = path.join(dir, 'runs');
    const runA = listRuns(runsDir, a);
    const runB = listRuns(runsDir, b);
    assert.equal(runA.length, 1);
    assert.equal(runB.length, 1);
    assert.notEqual(runA[0]?.dir, runB[0]?.dir);
    for (const [config, runs, steps] of [
      [a, runA, 30],
      [b, runB, 20],
    ] as const) {
      const streamed = events.get(config) ?? [];
      const onDisk = readEvents(path.join(runs[0]?.dir ?? '', 'events.jsonl'));
      const stepsOf = (es: RunEvent[]): number[] =>
        es.flatMap((e) => (e.type === 'step' ? [e.step] : []));
      assert.deepEqual(
        stepsOf(streamed),
        Array.from({ length: steps }, (_, i) => i + 1),
      );
      assert.deepEqual(stepsOf(onDisk), stepsOf(streamed));
      const started = streamed.find((e) => e.type === 'run-started');
      assert.ok(started?.type === 'run-started');
      assert.equal(started.configPath, config);
      assert.equal(started.runDir, runs[0]?.dir);
    }
  });
});
