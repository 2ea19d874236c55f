import type { BackendName, RunEvent, RunStatus } from './runnerEvents';

/**
 * Commands the extension sends to a runner process (over the IPC channel of child_process.fork),
 * and the envelope the runner answers with. One runner process runs one job: a training (which
 * streams events, then answers how it ended) or a one-shot job (a sample grid, a generation,
 * tags: progress as log events, then one result).
 *
 * A job is one entry of `RunnerJobs`: its command and the output it answers with. The result
 * type travels with the command (`JobOutputOf<C>`), so a caller of `runJob(cmd)` gets the right
 * output without a cast or a check; the runner's executor (src/runner/jobs.ts) is typed the same.
 */

export interface TrainCommand {
  type: 'train';
  configPath: string;
  runsDir?: string;
  steps?: number;
  backend?: BackendName | 'auto';
  /** When given, every path the config reads or writes must lie inside one of these folders. */
  allowedRoots?: string[];
}

export interface ResumeCommand {
  type: 'resume';
  runDir: string;
  steps?: number;
  backend?: BackendName | 'auto';
  allowedRoots?: string[];
}

/** A grid of samples from a run's newest checkpoint. */
export interface SampleCommand {
  type: 'sample';
  runDir: string;
  count: number;
  className?: string;
  /** Tags-conditioned runs: every image gets exactly these tags. */
  tags?: string[];
  /** Tags added to each grid row's own tags. */
  addTags?: string[];
  /** A JSON file with a vector or tags for every image (see conditionRequest). */
  conditionFile?: string;
  truncation: number;
  seed: number;
  /** Output PNG; default: a new file under the run's samples/. */
  out?: string;
  backend?: BackendName | 'auto';
}

/** IC-GAN generation conditioned on an image (instance transfer) or a training instance. */
export interface GenerateCommand {
  type: 'generate';
  runDir: string;
  source: { image: string } | { instance: number };
  count: number;
  candidates: number;
  className?: string;
  /** Tags-conditioned runs: tags replacing, or added to, the nearest instance's own. */
  tags?: string[];
  addTags?: string[];
  truncation: number;
  seed: number;
  /** Also find this many nearest training instances of an image source (0: none). */
  neighbours?: number;
  /** Output folder; default: <run>/generated/<time>/. */
  out?: string;
  backend?: BackendName | 'auto';
}

/** Image → tags with the run's tagger (trained first when the run has none). */
export interface TagCommand {
  type: 'tag';
  runDir: string;
  images: string[];
  top: number;
  seed: number;
  retrain?: boolean;
  backend?: BackendName | 'auto';
}

/** Ask the job to write a checkpoint and exit cleanly at the end of the current step. */
export interface StopCommand {
  type: 'stop';
}

/** How a training ended (the run's events and run.json say the rest). */
export interface TrainOutput {
  status: Exclude<RunStatus, 'running'>;
  step: number;
  /** The checkpoint a resume would continue from, relative to the run folder. */
  lastCheckpoint?: string;
}

export interface SampleOutput {
  file: string;
  count: number;
  columns: number;
  step: number;
}

export interface GenerateOutput {
  outDir: string;
  /** Grid PNG whose first cell is the conditioning image. */
  grid: string;
  files: string[];
  /** Cosine similarity of each kept image's features to the conditioning features. */
  similarities: number[];
  /** The class used, for class-conditional runs. */
  className?: string;
  /** For an image: the nearest training instance (whose class a class-conditional run uses by default). */
  nearestInstance?: number;
  /** The conditioning image then its nearest training instances (image sources with `neighbours`). */
  neighboursStrip?: string;
  neighbours?: { index: number; similarity: number; label?: string }[];
}

export interface TagOutput {
  tagger: string;
  /** Whether the tagger was trained by this job (the first request on a run). */
  trained: boolean;
  embedding: 'onehot' | 'skipgram';
  images: {
    image: string;
    /** Best first: the share of generated tag vectors that voted for the tag, and their cosine. */
    tags: { tag: string; score: number; similarity: number }[];
  }[];
}

/** Every job: its command and what it answers with. A new job is one entry here. */
export interface RunnerJobs {
  train: { command: TrainCommand; output: TrainOutput };
  resume: { command: ResumeCommand; output: TrainOutput };
  sample: { command: SampleCommand; output: SampleOutput };
  generate: { command: GenerateCommand; output: GenerateOutput };
  tag: { command: TagCommand; output: TagOutput };
}

export type JobType = keyof RunnerJobs;
export type JobCommand = RunnerJobs[JobType]['command'];
export type JobOutput = RunnerJobs[JobType]['output'];
/** The output a command's job answers with. */
export type JobOutputOf<C extends JobCommand> = RunnerJobs[C['type']]['output'];

export type RunnerCommand = JobCommand | StopCommand;

/** Every command type, for the runner's check of what arrives on the channel. */
export const RUNNER_COMMAND_TYPES: Readonly<Record<RunnerCommand['type'], true>> = {
  train: true,
  resume: true,
  sample: true,
  generate: true,
  tag: true,
  stop: true,
};

export type RunnerMessage =
  | { type: 'event'; event: RunEvent }
  | { type: 'result'; output: JobOutput }
  | { type: 'error'; message: string; configFile?: string; field?: string }
  /** The job's verdict (0: done, 1: failed), sent before the process exits with the same code. */
  | { type: 'exit'; code: number };
