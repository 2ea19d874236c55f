import * as path from 'node:path';
import { initBackend } from '../core/backend/backendChain';
import { loadConfigFile } from '../core/config/loadConfig';
import { ConfigError } from '../core/config/configError';
import { isInside, OUTSIDE_SETTING, pathsOutside } from '../core/config/pathPolicy';
import { isUserError, UserError } from '../core/errors';
import { neighboursOfImage } from '../core/instances/imageNeighbours';
import { trainingImageLoader } from '../core/instances/runDataset';
import { generateFromInstance } from '../core/sampling/generateFromInstance';
import { sampleRun } from '../core/sampling/sampleRun';
import { tagImages } from '../core/tagging/tagRun';
import { resumeRun, trainNew, type JobOptions } from '../core/train/trainJob';
import type {
  GenerateCommand,
  JobCommand,
  JobOutput,
  RunnerCommand,
  RunnerMessage,
} from '../protocol/runnerCommands';

/**
 * The process the extension forks (dist/runner.js) for every job: a training, or a generation.
 * It takes one command over the IPC channel, streams events (training) or answers one result
 * (generation), and exits when the job ends. TensorFlow is loaded here and only here, never in
 * the extension host.
 */
function send(msg: RunnerMessage): void {
  // After the extension went away the channel is closed: the job still ends cleanly (checkpoint,
  // run.json), with nobody left to tell.
  if (!process.connected) return;
  // With a callback, a send that fails because the other end just died (EPIPE) is reported
  // here instead of as an 'error' event that would crash the process mid-checkpoint.
  process.send?.(msg, undefined, {}, () => undefined);
}

const COMMANDS = new Set<RunnerCommand['type']>([
  'train',
  'resume',
  'sample',
  'generate',
  'tag',
  'stop',
]);

function isCommand(value: unknown): value is RunnerCommand {
  const type = (value as { type?: unknown } | null)?.type;
  return typeof type === 'string' && COMMANDS.has(type as RunnerCommand['type']);
}

async function generate(cmd: GenerateCommand): Promise<JobOutput> {
  await initBackend(cmd.backend ?? 'auto');
  const trainingImage =
    'instance' in cmd.source ? await trainingImageLoader(cmd.runDir) : undefined;
  const result = await generateFromInstance(cmd.runDir, cmd, trainingImage);
  let strip: Awaited<ReturnType<typeof neighboursOfImage>> | undefined;
  if ('image' in cmd.source && (cmd.neighbours ?? 0) > 0) {
    strip = await neighboursOfImage(
      cmd.runDir,
      cmd.source.image,
      cmd.neighbours ?? 0,
      path.join(result.outDir, 'neighbours.png'),
    );
  }
  return {
    kind: 'generate',
    ...result,
    ...(strip ? { neighboursStrip: strip.strip, neighbours: strip.neighbours } : {}),
  };
}

async function runJob(cmd: JobCommand, shouldStop: () => boolean): Promise<number> {
  const opts: JobOptions = {
    steps: 'steps' in cmd ? cmd.steps : undefined,
    backend: cmd.backend,
    shouldStop,
    onEvent: (event) => send({ type: 'event', event }),
  };
  try {
    switch (cmd.type) {
      case 'train': {
        const config = loadConfigFile(cmd.configPath);
        if (cmd.runsDir) config.runsDir = cmd.runsDir;
        const outside = cmd.allowedRoots ? pathsOutside(config, cmd.allowedRoots) : [];
        if (outside.length > 0) throw new ConfigError(cmd.configPath, outside);
        const ended = await trainNew(config, opts);
        return ended.status === 'finished' || ended.status === 'stopped' ? 0 : 1;
      }
      case 'resume': {
        if (cmd.allowedRoots && !isInside(cmd.runDir, cmd.allowedRoots)) {
          throw new UserError(
            `${cmd.runDir} is outside the workspace; set ${OUTSIDE_SETTING} to allow it`,
          );
        }
        const ended = await resumeRun(cmd.runDir, opts);
        return ended.status === 'finished' || ended.status === 'stopped' ? 0 : 1;
      }
      case 'sample': {
        await initBackend(cmd.backend ?? 'auto');
        const result = await sampleRun(cmd.runDir, cmd);
        send({ type: 'result', output: { kind: 'sample', ...result } });
        return 0;
      }
      case 'generate':
        send({ type: 'result', output: await generate(cmd) });
        return 0;
      case 'tag': {
        await initBackend(cmd.backend ?? 'auto');
        // Training the tagger takes a while on a run's first request: its log is the progress.
        const log = (message: string): void =>
          send({
            type: 'event',
            event: { type: 'log', time: new Date().toISOString(), level: 'info', message },
          });
        const result = await tagImages(cmd.runDir, cmd, log);
        send({ type: 'result', output: { kind: 'tag', ...result } });
        return 0;
      }
    }
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const issue = err instanceof ConfigError ? err.issues[0] : undefined;
    send({
      type: 'error',
      message: isUserError(err) ? message : `internal error: ${message}`,
      configFile: err instanceof ConfigError ? err.file : undefined,
      field: issue?.field,
    });
    return 1;
  }
}

export function startIpcRunner(): void {
  if (!process.send) {
    process.stderr.write(
      'icgan runner: must be started with an IPC channel (use the icgan CLI for a terminal)\n',
    );
    process.exitCode = 2;
    return;
  }
  let stop = false;
  let busy = false;
  process.on('message', (msg: unknown) => {
    if (!isCommand(msg)) {
      send({ type: 'error', message: `unknown command ${JSON.stringify(msg)}` });
      return;
    }
    if (msg.type === 'stop') {
      stop = true;
      if (!busy) process.exit(0);
      return;
    }
    if (busy) {
      send({ type: 'error', message: 'this runner is already running a job' });
      return;
    }
    busy = true;
    void runJob(msg, () => stop).then((code) => {
      send({ type: 'exit', code });
      // Let the IPC queue drain before leaving.
      process.disconnect?.();
      process.exitCode = code;
    });
  });
  // The extension going away (closed window, crash) must not leave a training orphaned — nor
  // kill it mid-write: its stdout/stderr pipes are gone too, so writes there must not throw.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  process.on('disconnect', () => {
    if (busy) stop = true;
    else process.exit(0);
  });
}

if (require.main === module) startIpcRunner();
