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
  | CheckpointEvent
  | LogEvent
  | RunEndedEvent;

export type RunEventType = RunEvent['type'];
