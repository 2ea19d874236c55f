import * as path from 'node:path';
import { initBackend } from '../core/backend/backendChain';
import { ConfigError } from '../core/config/configError';
import { loadConfigFile } from '../core/config/loadConfig';
import { isInside, OUTSIDE_SETTING, pathsOutside } from '../core/config/pathPolicy';
import { UserError } from '../core/errors';
import { neighboursOfImage } from '../core/instances/imageNeighbours';
import { trainingImageLoader } from '../core/instances/runDataset';
import { generateFromInstance } from '../core/sampling/generateFromInstance';
import { sampleRun } from '../core/sampling/sampleRun';
import { tagImages } from '../core/tagging/tagRun';
import { resumeRun, trainNew, type JobOptions } from '../core/train/trainJob';
import type {
  JobCommand,
  JobOutput,
  JobOutputOf,
  JobType,
  RunnerJobs,
  TrainOutput,
} from '../protocol/runnerCommands';
import type { LogEvent, RunEndedEvent, RunEvent } from '../protocol/runnerEvents';

/**
 * The one executor of runner jobs: the IPC runner (for the extension) and every CLI action build
 * a job command and call `executeJob`. Backend choice, the workspace path policy, warnings and
 * progress are decided here once, so the two front-ends cannot drift.
 */

export interface JobHooks {
  /**
   * Progress: a training's events; a one-shot job's progress and warnings as log events (the
   * tagger's training, a fallback to an older checkpoint).
   */
  onEvent(event: RunEvent): void;
  /** Polled by trainings after every step; true = checkpoint and stop. */
  shouldStop(): boolean;
}

type Executors = {
  [T in JobType]: (
    cmd: RunnerJobs[T]['command'],
    hooks: JobHooks,
  ) => Promise<RunnerJobs[T]['output']>;
};

const EXECUTORS: Executors = {
  train: async (cmd, hooks) => {
    const config = loadConfigFile(cmd.configPath);
    if (cmd.runsDir) config.runsDir = path.resolve(cmd.runsDir);
    const outside = cmd.allowedRoots ? pathsOutside(config, cmd.allowedRoots) : [];
    if (outside.length > 0) throw new ConfigError(cmd.configPath, outside);
    return trainOutput(await trainNew(config, trainOptions(cmd, hooks)));
  },

  resume: async (cmd, hooks) => {
    if (cmd.allowedRoots && !isInside(cmd.runDir, cmd.allowedRoots)) {
      throw new UserError(
        `${cmd.runDir} is outside the workspace; set ${OUTSIDE_SETTING} to allow it`,
      );
    }
    return trainOutput(await resumeRun(cmd.runDir, trainOptions(cmd, hooks)));
  },

  sample: async (cmd, hooks) => {
    await initBackend(cmd.backend ?? 'auto');
    return sampleRun(cmd.runDir, cmd, (message) => hooks.onEvent(logEvent('warn', message)));
  },

  generate: async (cmd) => {
    await initBackend(cmd.backend ?? 'auto');
    const trainingImage =
      'instance' in cmd.source ? await trainingImageLoader(cmd.runDir) : undefined;
    const result = await generateFromInstance(cmd.runDir, cmd, trainingImage);
    if (!('image' in cmd.source) || (cmd.neighbours ?? 0) === 0) return result;
    const strip = await neighboursOfImage(
      cmd.runDir,
      cmd.source.image,
      cmd.neighbours ?? 0,
      path.join(result.outDir, 'neighbours.png'),
    );
    return { ...result, neighboursStrip: strip.strip, neighbours: strip.neighbours };
  },

  tag: async (cmd, hooks) => {
    await initBackend(cmd.backend ?? 'auto');
    // Training the tagger takes a while on a run's first request: its log is the progress.
    return tagImages(cmd.runDir, cmd, (message) => hooks.onEvent(logEvent('info', message)));
  },
};

/** Runs one job to its end. Errors are thrown as they come (UserError, ConfigError or a bug). */
export function executeJob<C extends JobCommand>(cmd: C, hooks: JobHooks): Promise<JobOutputOf<C>> {
  // The table is typed per job; TypeScript cannot pair a union's member with its entry itself.
  const execute = EXECUTORS[cmd.type] as (cmd: C, hooks: JobHooks) => Promise<JobOutputOf<C>>;
  return execute(cmd, hooks);
}

/** Whether a job's output says it failed (only a training can end without throwing yet fail). */
export function jobFailed(output: JobOutput): boolean {
  return 'status' in output && output.status === 'failed';
}

function trainOptions(cmd: RunnerJobs['train' | 'resume']['command'], hooks: JobHooks): JobOptions {
  return {
    steps: cmd.steps,
    backend: cmd.backend,
    shouldStop: () => hooks.shouldStop(),
    onEvent: (event) => hooks.onEvent(event),
  };
}

function trainOutput(ended: RunEndedEvent): TrainOutput {
  return {
    status: ended.status,
    step: ended.step,
    ...(ended.lastCheckpoint ? { lastCheckpoint: ended.lastCheckpoint } : {}),
  };
}

function logEvent(level: LogEvent['level'], message: string): LogEvent {
  return { type: 'log', time: new Date().toISOString(), level, message };
}
