import type { BackendName, RunEvent } from './runnerEvents';

/**
 * Commands the extension sends to a runner process (over the IPC channel of child_process.fork),
 * and the envelope the runner answers with. One runner process runs one job: a training (which
 * streams events) or a generation (which answers with one result).
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

export type RunnerCommand =
  TrainCommand | ResumeCommand | SampleCommand | GenerateCommand | TagCommand | StopCommand;

export type JobCommand = Exclude<RunnerCommand, StopCommand>;

export interface SampleOutput {
  kind: 'sample';
  file: string;
  count: number;
  columns: number;
  step: number;
}

export interface GenerateOutput {
  kind: 'generate';
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
  kind: 'tag';
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

export type JobOutput = SampleOutput | GenerateOutput | TagOutput;

export type RunnerMessage =
  | { type: 'event'; event: RunEvent }
  | { type: 'result'; output: JobOutput }
  | { type: 'error'; message: string; configFile?: string; field?: string }
  | { type: 'exit'; code: number };
