/**
 * The sample referee (src/core/metrics/sampleJudge.ts) as a command: judges the EMA generator of
 * one or more runs, and sample files written by the PyTorch mirror (bench/mirror/), against the
 * same real-data models in one process, and prints one table.
 *
 *   npx tsx bench/referee.ts --run DIR[,DIR…] [--mirror DIR[,DIR…]] [--step N]
 *                            [--samples 2000] [--seed 0] [--transfer 20] [--raw] [--json]
 *
 * For IC-GAN runs it also judges transfer: samples generated from --transfer unseen held-out
 * images, their class and their spread against the image's nearest training instances.
 *
 * Samples ask for every class equally often (the data sets here are balanced), with untruncated
 * noise. The real-data models are trained on the first run's training data and calibrated on
 * held-out images (--raw also judges each run's raw generator, without the EMA): for `shapes`, a second set drawn with another seed; for `idx`, the matching
 * t10k file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend } from '../src/core/backend/backendChain';
import type { DataConfig } from '../src/core/config/types';
import { flag } from './harness';
import {
  formatTransfer,
  formatVerdicts,
  judgeFor,
  judgeGenerator,
  judgeSampleFile,
  judgeTransfer,
  type Row,
  type TransferVerdict,
} from './refereeRuns';

/** IC-GAN runs keep an instance index. */
function isInstanceRun(runDir: string): boolean {
  return fs.existsSync(path.join(runDir, 'instances'));
}

async function main(): Promise<void> {
  const runs = flag('run', '').split(',').filter(Boolean);
  const mirrors = flag('mirror', '').split(',').filter(Boolean);
  const samples = Number(flag('samples', '2000'));
  const seed = Number(flag('seed', '0'));
  const step = Number(flag('step', 'Infinity'));
  if (runs.length + mirrors.length === 0) throw new Error('give --run DIR and/or --mirror DIR');
  await initBackend('wasm');
  const first = runs[0] ?? mirrors[0]!;
  const data = (
    JSON.parse(fs.readFileSync(path.join(first, 'config.json'), 'utf8')) as {
      data: DataConfig;
    }
  ).data;
  const judge = await judgeFor(data, samples, seed);
  try {
    const rows: Row[] = [];
    for (const run of runs) {
      // An IC-GAN draws from an instance, not from a class: it is judged by transfer below.
      if (isInstanceRun(run)) continue;
      rows.push(await judgeGenerator(judge, run, samples, seed, step));
      if (process.argv.includes('--raw'))
        rows.push(await judgeGenerator(judge, run, samples, seed, step, 'raw'));
    }
    for (const dir of mirrors) rows.push(await judgeSampleFile(judge, dir));
    const transfer: TransferVerdict[] = [];
    const unseen = Number(flag('transfer', '20'));
    for (const run of runs) {
      if (isInstanceRun(run))
        transfer.push(await judgeTransfer(judge, run, judge.heldOut, unseen, 16, seed));
    }
    if (process.argv.includes('--json')) {
      console.log(JSON.stringify({ calibration: judge.judge.calibration, rows, transfer }));
    } else {
      console.log(formatVerdicts(judge, rows).join('\n'));
      if (transfer.length) console.log(['', ...formatTransfer(transfer)].join('\n'));
    }
  } finally {
    judge.judge.dispose();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
