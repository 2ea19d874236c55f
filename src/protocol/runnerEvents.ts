/**
 * Events a training run emits. The runner sends them to the extension over IPC, the CLI prints
 * them (`--json`), and every run appends them to its `events.jsonl`; readers switch on `type`.
 * Plain data only: this file is imported by the engine, the runner, the extension and the
 * webview, so it must not import anything with side effects.
 */

export type BackendName = 'tfjs-node-gpu' | 'tfjs-node' | 'webgpu' | 'wasm' | 'cpu';

/** The GPU behind the webgpu backend, as its WebGPU adapter reports it. */
export interface GpuAdapterInfo {
  vendor: string;
  architecture: string;
  description: string;
  /** A CPU rasteriser (lavapipe, SwiftShader, llvmpipe): correct but slower than wasm. */
  software: boolean;
}

export interface BackendAttempt {
  name: BackendName;
  ok: boolean;
  /** Why this backend was skipped (absent when it loaded). */
  reason?: string;
  ms: number;
}

export interface BackendInfo {
  name: BackendName;
  /** The tfjs backend id actually active ('tensorflow', 'wasm', 'cpu'). */
  tfBackend: string;
  attempts: BackendAttempt[];
  threads: number;
  simd: boolean | null;
  /** The adapter of the webgpu backend; absent for the others. */
  adapter?: GpuAdapterInfo;
}

export type RunStatus = 'running' | 'finished' | 'failed' | 'stopped';

export interface RunStartedEvent {
  type: 'run-started';
  time: string;
  runDir: string;
  runName: string;
  configPath: string;
  model: string;
  dataset: string;
  backend: BackendInfo;
  /** First step this process will run (0 for a new run, the checkpoint's step on resume). */
  startStep: number;
  totalSteps: number;
  resumed: boolean;
  parameters: { generator: number; discriminator: number };
  /** The classes the model can be asked for (class-conditional models), else empty. */
  classNames: string[];
  /** Whether the model conditions on instance features (IC-GAN): galleries and generation apply. */
  instanceConditioned: boolean;
  /**
   * The tag vocabulary of a model conditioned on tags (model.condition 'tags'): what a sample may
   * be asked for. Empty otherwise; absent in runs from before tags existed.
   */
  tagNames?: string[];
}

export interface StepEvent {
  type: 'step';
  time: string;
  step: number;
  totalSteps: number;
  dLoss: number;
  gLoss: number;
  /** Mean sigmoid of D's logits on real and on generated images. */
  dReal: number;
  dFake: number;
  imagesPerSec: number;
  etaSeconds: number;
}

export interface SamplesEvent {
  type: 'samples';
  time: string;
  step: number;
  /** Path of the grid PNG relative to the run folder. */
  file: string;
  count: number;
  columns: number;
}

/** One row of an instance-neighbour gallery. */
export interface GalleryRow {
  /** Index of the representative instance in the training set. */
  instance: number;
  /** Its class name, for data sets with labels. */
  label?: string;
  /** Indices of its k nearest real neighbours, nearest first. */
  neighbours: number[];
  /**
   * Pixel spread (grey levels) across the row's samples and across the instance with its
   * neighbours: samples that barely differ while the neighbours do mean G ignores z.
   */
  spread?: { samples: number; neighbours: number };
}

/** An instance-neighbour gallery (IC-GAN): per row an instance, its neighbours, samples from it. */
export interface GalleryEvent {
  type: 'gallery';
  time: string;
  step: number;
  /** PNG relative to the run folder: rows of instance | neighbours | generated samples. */
  file: string;
  rows: GalleryRow[];
  samplesPerRow: number;
}

/** How varied the samples of one condition are against the real images that share it. */
export interface DiversityGroup {
  /** A class name, `instance N`, or `all`. */
  name: string;
  /** Sample spread over real spread (1: as varied as the data). */
  ratio: number;
}

/**
 * The mode-collapse watch, at every sample grid: fixed noise per condition through the EMA
 * generator. A group that falls to half its best ratio also gets a `log` warning.
 */
export interface DiversityEvent {
  type: 'diversity';
  time: string;
  step: number;
  /** Median ratio over the groups. */
  median: number;
  groups: DiversityGroup[];
  /** Groups that have collapsed and not recovered, by name. */
  collapsed: string[];
}

export interface CheckpointEvent {
  type: 'checkpoint';
  time: string;
  step: number;
  /** Path relative to the run folder. */
  file: string;
  bytes: number;
}

export interface LogEvent {
  type: 'log';
  time: string;
  level: 'info' | 'warn' | 'error';
  message: string;
}

export interface RunEndedEvent {
  type: 'run-ended';
  time: string;
  status: Exclude<RunStatus, 'running'>;
  step: number;
  message?: string;
  /** The checkpoint a resume would continue from, relative to the run folder. */
  lastCheckpoint?: string;
}

export type RunEvent =
  | RunStartedEvent
  | StepEvent
  | SamplesEvent
  | GalleryEvent
  | DiversityEvent
  | CheckpointEvent
  | LogEvent
  | RunEndedEvent;

export type RunEventType = RunEvent['type'];

/** The event of one type. */
export type RunEventOf<T extends RunEventType> = Extract<RunEvent, { type: T }>;

/**
 * A handler for every event type. Consumers that must treat each event (its text, the dashboard's
 * fold, the Output channel) are written as such a table, so a new event type added to `RunEvent`
 * is a compile error at each of them until it has its handler.
 */
export type RunEventHandlers<R> = { [T in RunEventType]: (e: RunEventOf<T>) => R };

/** Calls the handler of the event's type. */
export function handleRunEvent<R>(e: RunEvent, handlers: RunEventHandlers<R>): R {
  // Each entry takes its own type; the union cannot be paired with its entry by the compiler.
  return (handlers[e.type] as (e: RunEvent) => R)(e);
}
