/**
 * The referee on one config, engine and PyTorch mirror side by side in one run, at a fixed step
 * budget and at a fixed wall-clock budget (training time only, sampling excluded, on both sides):
 * class accuracy by a classifier trained on real data, blank samples, colours per class, Fréchet
 * distance and PRDC (src/core/metrics/sampleJudge.ts).
 *
 *   npx tsx bench/sideBySide.ts [--config examples/shapes-cgan.icgan.json] [--steps 3000]
 *                               [--seconds 240|engine] [--samples 2000] [--seed 1] [--out DIR]
 *
 * `--seconds engine` gives the mirror exactly the engine's own training time for --steps (the
 * demo's question: what does PyTorch reach in the time this engine trained?).
 * The engine's wall-clock point is its newest checkpoint at or before the step its median step
 * time reaches in --seconds; the mirror samples at exactly --seconds of its own training time.
 * Both sides share the CPU with nothing else of this bench (the mirror trains after the engine).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../src/core/backend/backendChain';
import { loadConfigFile } from '../src/core/config/loadConfig';
import { readRunInfo } from '../src/core/run/runFolder';
import { trainNew } from '../src/core/train/trainJob';
import type { RunEvent } from '../src/protocol/runnerEvents';
import { flag, log } from './harness';
import { runMirror } from './mirrorRun';
import { formatVerdicts, judgeFor, judgeGenerator, judgeSampleFile, type Row } from './refereeRuns';

async function main(): Promise<void> {
  const configPath = path.resolve(flag('config', 'examples/shapes-cgan.icgan.json'));
  const samples = Number(flag('samples', '2000'));
  const secondsFlag = flag('seconds', '240');
  const seed = Number(flag('seed', '1'));
  const out = path.resolve(flag('out', fs.mkdtempSync(path.join(os.tmpdir(), 'icgan-side-'))));
  const config = loadConfigFile(configPath);
  const steps = Number(flag('steps', String(config.training.steps)));
  config.training.steps = steps;
  config.runsDir = path.join(out, 'runs');
  // Enough checkpoints that the wall-clock point falls near one.
  config.checkpoints = { every: Math.max(50, Math.round(steps / 20)), keep: 1000 };
  await initBackend(config.backend === 'auto' ? 'wasm' : config.backend);
  log(
    `CPU: ${os.cpus()[0]?.model ?? 'unknown'} × ${os.cpus().length}; ${configPath}, ${steps} steps, ${secondsFlag} s`,
  );

  let runDir = '';
  const ended = await trainNew(config, {
    onEvent: (e: RunEvent) => {
      if (e.type === 'run-started') runDir = e.runDir;
      if (e.type === 'checkpoint') log(`engine: ${e.file}`);
    },
  });
  if (ended.status !== 'finished')
    throw new Error(`the engine run ${ended.status}: ${ended.message ?? ''}`);
  const info = readRunInfo(runDir);
  const msPerStep = info.msPerStep ?? (1000 * info.trainingSeconds) / steps;
  const ownTime = secondsFlag === 'engine';
  const seconds = ownTime ? Math.round(info.trainingSeconds) : Number(secondsFlag);
  // With its own training time the engine's point is its last step; otherwise where its median
  // step time says it would be (a median above the mean would place it early).
  const stepAtBudget = ownTime ? steps : Math.floor((seconds * 1000) / msPerStep);

  const mirrorOut = path.join(out, 'mirror');
  const dirs = await runMirror(config, {
    out: mirrorOut,
    seed,
    samples,
    atSteps: [steps],
    atSeconds: [seconds],
  });

  const judge = await judgeFor(config.data, samples, 0);
  try {
    const rows: Row[] = [
      {
        ...(await judgeGenerator(judge, runDir, samples, seed, steps)),
        name: `engine @${steps} steps`,
      },
      {
        ...(await judgeGenerator(judge, runDir, samples, seed, stepAtBudget)),
        name: `engine @${seconds} s (${msPerStep.toFixed(0)} ms/step)`,
      },
      ...(await Promise.all(
        dirs.map(async (d) => ({
          ...(await judgeSampleFile(judge, d)),
          name: `PyTorch mirror ${path.basename(d)}`,
        })),
      )),
    ];
    console.log(formatVerdicts(judge, rows).join('\n'));
  } finally {
    judge.judge.dispose();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
