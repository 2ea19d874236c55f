#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from 'commander';
import { initBackend } from '../core/backend/backendChain';
import { releaseWebgpu } from '../core/backend/webgpuBackend';
import { isUserError, UserError } from '../core/errors';
import { neighboursOfImage } from '../core/instances/imageNeighbours';
import { evaluateRun } from '../core/metrics/evaluateRun';
import { splitTags } from '../core/sampling/conditionRequest';
import type { JobCommand, JobOutputOf, TrainOutput } from '../protocol/runnerCommands';
import { executeJob, type JobHooks } from './jobs';
import { ProgressReporter, type OutputMode } from './progressReporter';
import { logText } from '../core/run/runEventText';

const BACKENDS = ['auto', 'tfjs-node-gpu', 'tfjs-node', 'webgpu', 'wasm', 'cpu'] as const;

/** Flags of every command that loads a run: which backend, and JSON output. */
interface RunFlags {
  backend: (typeof BACKENDS)[number];
  json?: boolean;
}

/** A commander parser for a numeric flag, with the bound and kind in its error message. */
function numberFlag(flag: string, kind: 'integer' | 'number', min: number) {
  return (value: string): number => {
    const n = Number(value);
    const ok = (kind === 'integer' ? Number.isInteger(n) : Number.isFinite(n)) && n >= min;
    if (!ok) {
      const what =
        kind === 'integer' && min === 1
          ? 'a positive integer'
          : `${kind === 'integer' ? 'an integer' : 'a number'} ≥ ${min}`;
      throw new InvalidArgumentError(`${flag} must be ${what}, got '${value}'`);
    }
    return n;
  };
}

const positiveInt = (flag: string) => numberFlag(flag, 'integer', 1);
const nonNegativeInt = (flag: string) => numberFlag(flag, 'integer', 0);
const nonNegativeNumber = (flag: string) => numberFlag(flag, 'number', 0);

// Options shared by every command that draws noise.
const truncationOption = (): Option =>
  new Option('--truncation <t>', 'redraw noise beyond ±t (0 = none)')
    .argParser(nonNegativeNumber('--truncation'))
    .default(0);
const seedOption = (): Option =>
  new Option('--seed <s>', 'noise seed').argParser(nonNegativeInt('--seed')).default(0);

const backendOption = (): Option =>
  new Option(
    '--backend <name>',
    "force a TensorFlow.js backend (default: the config's, else auto)",
  ).choices(BACKENDS);

interface TrainFlags {
  steps?: number;
  runsDir?: string;
  backend?: (typeof BACKENDS)[number];
  json?: boolean;
}

/** SIGINT/SIGTERM ask the job to checkpoint and stop; a second one exits at once. */
function stopOnSignals(): () => boolean {
  let stop = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stop) process.exit(signal === 'SIGINT' ? 130 : 143);
    stop = true;
    process.stderr.write(
      `\n${signal}: writing a checkpoint and stopping (again to quit at once)\n`,
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => stop;
}

function outputMode(json: boolean | undefined): OutputMode {
  return json ? 'json' : process.stderr.isTTY ? 'tty' : 'plain';
}

/** A training on a terminal: its events through the progress reporter, signals to stop it. */
function trainingHooks(flags: TrainFlags): JobHooks {
  const reporter = new ProgressReporter(outputMode(flags.json));
  return { onEvent: (e) => reporter.handle(e), shouldStop: stopOnSignals() };
}

/** A one-shot job on a terminal: progress and warnings on stderr, stdout kept for the result. */
const oneShotHooks: JobHooks = {
  onEvent: (e) => {
    if (e.type === 'log') process.stderr.write(`${logText(e)}\n`);
  },
  shouldStop: () => false,
};

/** Runs a job as the extension's runner would, with the CLI's hooks. */
function run<C extends JobCommand>(cmd: C, hooks = oneShotHooks): Promise<JobOutputOf<C>> {
  return executeJob(cmd, hooks);
}

function exitFor(ended: TrainOutput): void {
  process.exitCode = ended.status === 'finished' ? 0 : ended.status === 'stopped' ? 130 : 1;
}

export function buildProgram(): Command {
  const program = new Command('icgan')
    .description(
      'Train and sample conditional and instance-conditioned GANs (IC-GAN Studio engine).',
    )
    .option('--debug', 'print stack traces of unexpected errors')
    // Flag errors read like every other error: one line, prefixed, with where to look.
    .configureOutput({
      outputError: (str, write) =>
        write(`icgan: ${str.trim().replace(/\s*\n\s*/g, ' ')} (see 'icgan help')\n`),
    });

  program
    .command('train')
    .description(
      'start a new run of a *.icgan.json config; writes a run folder under the runs folder',
    )
    .argument('<config>', 'path of the *.icgan.json file')
    .option(
      '--steps <n>',
      'total generator steps (overrides training.steps)',
      positiveInt('--steps'),
    )
    .option('--runs-dir <dir>', 'folder that receives the run folder (overrides runsDir)')
    .addOption(backendOption())
    .option('--json', 'print events as JSON lines on stdout instead of a progress bar')
    .action(async (configPath: string, flags: TrainFlags) => {
      const { steps, runsDir, backend } = flags;
      exitFor(
        await run({ type: 'train', configPath, steps, runsDir, backend }, trainingHooks(flags)),
      );
    });

  program
    .command('resume')
    .description('continue a run from its newest valid checkpoint')
    .argument('<run-dir>', 'the run folder')
    .option(
      '--steps <n>',
      'total steps the run should reach (default: its config)',
      positiveInt('--steps'),
    )
    .addOption(backendOption())
    .option('--json', 'print events as JSON lines on stdout')
    .action(async (runDir: string, flags: TrainFlags) => {
      const { steps, backend } = flags;
      exitFor(await run({ type: 'resume', runDir, steps, backend }, trainingHooks(flags)));
    });

  program
    .command('sample')
    .description("write a grid of images from a run's newest checkpoint (EMA generator)")
    .argument('<run-dir>', 'the run folder')
    .option('-n, --count <n>', 'number of images', positiveInt('-n'), 16)
    .option(
      '--class <name|index>',
      'class to generate (class-conditional runs); default: one class per row',
    )
    .option(
      '--tags <list>',
      "tags every image gets, comma-separated (tags-conditioned runs), e.g. red,circle; default: a real image's tags per row",
      splitTags,
    )
    .option(
      '--add-tags <list>',
      "tags added to each row's own (tags-conditioned runs; an IC-GAN row's are its instance's)",
      splitTags,
    )
    .option(
      '--condition <file.json>',
      'y for every image: a list of numbers (vector-conditioned runs), {"vector": [...]} or {"tags": [...]}',
    )
    .addOption(truncationOption())
    .addOption(seedOption())
    .option('--out <file>', 'output PNG (default: <run-dir>/samples/sample-<time>.png)')
    .addOption(backendOption().default('auto'))
    .option('--json', 'print the result as JSON')
    .action(
      async (
        runDir: string,
        flags: {
          count: number;
          class?: string;
          tags?: string[];
          addTags?: string[];
          condition?: string;
          truncation: number;
          seed: number;
          out?: string;
        } & RunFlags,
      ) => {
        const result = await run({
          type: 'sample',
          runDir,
          count: flags.count,
          className: flags.class,
          tags: flags.tags,
          addTags: flags.addTags,
          conditionFile: flags.condition,
          truncation: flags.truncation,
          seed: flags.seed,
          out: flags.out,
          backend: flags.backend,
        });
        process.stdout.write(flags.json ? `${JSON.stringify(result)}\n` : `${result.file}\n`);
      },
    );

  program
    .command('generate')
    .description(
      'generate images conditioned on an image (instance transfer) or a training instance (IC-GAN runs)',
    )
    .argument('<run-dir>', 'the run folder')
    .option(
      '--image <file>',
      "condition on this image (PNG, JPEG or WebP), embedded with the run's extractor",
    )
    .option(
      '--instance <index>',
      'condition on this training instance instead',
      nonNegativeInt('--instance'),
    )
    .option('-n, --count <n>', 'images to keep', positiveInt('-n'), 16)
    .option(
      '--candidates <n>',
      'images generated before keeping the n most similar',
      positiveInt('--candidates'),
      160,
    )
    .option(
      '--class <name|index>',
      "class to generate (class-conditional IC-GAN); default: the nearest instance's",
    )
    .option(
      '--tags <list>',
      "tags to generate with, replacing the nearest instance's (tags-conditioned icgan-class)",
      splitTags,
    )
    .option('--add-tags <list>', "tags added to the nearest instance's own", splitTags)
    .addOption(truncationOption())
    .addOption(seedOption())
    .option('--out <dir>', 'output folder (default: <run-dir>/generated/<time>/)')
    .addOption(backendOption().default('auto'))
    .option('--json', 'print the result as JSON')
    .action(async (runDir: string, flags: GenerateFlags) => {
      if ((flags.image === undefined) === (flags.instance === undefined)) {
        throw new UserError('generate: give exactly one of --image <file> and --instance <index>');
      }
      const source =
        flags.image !== undefined ? { image: flags.image } : { instance: flags.instance as number };
      const result = await run({
        type: 'generate',
        runDir,
        source,
        count: flags.count,
        candidates: flags.candidates,
        className: flags.class,
        tags: flags.tags,
        addTags: flags.addTags,
        truncation: flags.truncation,
        seed: flags.seed,
        out: flags.out,
        backend: flags.backend,
      });
      process.stdout.write(flags.json ? `${JSON.stringify(result)}\n` : `${result.grid}\n`);
    });

  program
    .command('tag')
    .description(
      "suggest tags for images with the run's image → tags cGAN (IC-GAN runs on data with tags; trained on first use)",
    )
    .argument('<run-dir>', 'the run folder')
    .requiredOption(
      '--image <file...>',
      "image(s) to tag (PNG, JPEG or WebP), embedded with the run's extractor",
    )
    .option('--top <n>', 'tags listed per image', positiveInt('--top'), 10)
    .option('--retrain', 'train the tagger again (after changing the tags or the tagging settings)')
    .addOption(seedOption())
    .addOption(backendOption().default('auto'))
    .option('--json', 'print the result as JSON')
    .action(
      async (
        runDir: string,
        flags: { image: string[]; top: number; retrain?: boolean; seed: number } & RunFlags,
      ) => {
        const result = await run({
          type: 'tag',
          runDir,
          images: flags.image,
          top: flags.top,
          seed: flags.seed,
          retrain: flags.retrain,
          backend: flags.backend,
        });
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(result)}\n`);
          return;
        }
        const lines = result.images.flatMap(({ image, tags }) => [
          `${image}:`,
          ...tags.map(
            (t) =>
              `  ${t.tag.padEnd(16)} ${t.score.toFixed(2)}  (cosine ${t.similarity.toFixed(3)})`,
          ),
        ]);
        process.stdout.write(`${lines.join('\n')}\n`);
      },
    );

  program
    .command('neighbours')
    .description(
      'list (and write a strip of) the training instances nearest to an image (IC-GAN runs)',
    )
    .argument('<run-dir>', 'the run folder')
    .requiredOption('--image <file>', 'the query image')
    .option('-k <k>', 'how many neighbours', positiveInt('-k'), 5)
    .option(
      '--out <file>',
      'output PNG strip (default: <run-dir>/generated/neighbours-<image>.png)',
    )
    .addOption(backendOption().default('auto'))
    .option('--json', 'print the result as JSON')
    .action(
      async (
        runDir: string,
        flags: {
          image: string;
          k: number;
          out?: string;
        } & RunFlags,
      ) => {
        await initBackend(flags.backend);
        const result = await neighboursOfImage(runDir, flags.image, flags.k, flags.out);
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(result)}\n`);
          return;
        }
        for (const n of result.neighbours) {
          process.stdout.write(
            `${n.index}\t${n.similarity.toFixed(4)}${n.label !== undefined ? `\t${n.label}` : ''}\n`,
          );
        }
        process.stderr.write(`strip: ${result.strip}\n`);
      },
    );

  program
    .command('eval')
    .description(
      'precision, recall, density, coverage and Fréchet distance of a run (and, for IC-GAN, whether the conditioning works)',
    )
    .argument('<run-dir>', 'the run folder')
    .option('--samples <n>', 'real and generated images compared', positiveInt('--samples'), 2000)
    .option(
      '--seed <s>',
      'seed of the samples and the feature classifier',
      nonNegativeInt('--seed'),
      0,
    )
    .option(
      '--classifier-steps <n>',
      'training steps of the feature classifier',
      positiveInt('--classifier-steps'),
      600,
    )
    .addOption(backendOption().default('auto'))
    .option('--json', 'print the result as JSON')
    .action(
      async (
        runDir: string,
        flags: {
          samples: number;
          seed: number;
          classifierSteps: number;
        } & RunFlags,
      ) => {
        await initBackend(flags.backend);
        const r = await evaluateRun(runDir, {
          samples: flags.samples,
          seed: flags.seed,
          classifierSteps: flags.classifierSteps,
        });
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(r)}\n`);
          return;
        }
        const lines = [
          `run ${r.run} (${r.model}, step ${r.step}), ${r.samples} real and ${r.samples} generated images`,
          `features: ${r.features}`,
          `precision ${r.precision.toFixed(3)}  recall ${r.recall.toFixed(3)}  density ${r.density.toFixed(3)}  coverage ${r.coverage.toFixed(3)}  (k = 5)`,
          `Fréchet distance ${r.frechet.toFixed(3)}`,
        ];
        if (r.conditioning) {
          lines.push(
            `conditioning: cosine(f(G(z, h_i)), h_i) = ${r.conditioning.own.toFixed(3)} vs ${r.conditioning.random.toFixed(3)} for a random instance`,
          );
        }
        process.stdout.write(`${lines.join('\n')}\n`);
      },
    );

  return program;
}

interface GenerateFlags extends RunFlags {
  image?: string;
  instance?: number;
  count: number;
  candidates: number;
  class?: string;
  tags?: string[];
  addTags?: string[];
  truncation: number;
  seed: number;
  out?: string;
}

/** Training images of a run, to show a conditioning instance in the first grid cell. */
export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    reportError(program, argv, err);
  } finally {
    // Dawn's instance keeps Node alive (webgpu backend); the CLI is done with it.
    releaseWebgpu();
  }
}

function reportError(program: Command, argv: string[], err: unknown): void {
  const debug = program.opts<{ debug?: boolean }>().debug ?? argv.includes('--debug');
  if (debug && err instanceof Error) process.stderr.write(`${err.stack ?? err.message}\n`);
  else if (isUserError(err)) process.stderr.write(`icgan: error: ${err.message}\n`);
  else {
    const first = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    process.stderr.write(`icgan: internal error: ${first} (run with --debug for details)\n`);
  }
  process.exitCode = 1;
}

if (require.main === module) void main(process.argv);
