import type { BackendName, RunEvent } from './runnerEvents';

/**
 * Commands the extension sends to a runner process (over the IPC channel of child_process.fork),
 * and the envelope the runner answers with. One runner process runs one job.
 */

export interface TrainCommand {
  type: 'train';
  configPath: string;
  runsDir?: string;
  steps?: number;
  backend?: BackendName | 'auto';
}

export interface ResumeCommand {
  type: 'resume';
  runDir: string;
  steps?: number;
  backend?: BackendName | 'auto';
}

/** Ask the job to write a checkpoint and exit cleanly at the end of the current step. */
export interface StopCommand {
  type: 'stop';
}

export type RunnerCommand = TrainCommand | ResumeCommand | StopCommand;

export type RunnerMessage =
  | { type: 'event'; event: RunEvent }
  | { type: 'error'; message: string; configFile?: string; field?: string }
  | { type: 'exit'; code: number };
