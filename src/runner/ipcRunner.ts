import * as path from 'node:path';
import { initBackend } from '../core/backend/backendChain';
import { loadConfigFile } from '../core/config/loadConfig';
import { ConfigError } from '../core/config/configError';
import { isUserError } from '../core/errors';
import { neighboursOfImage } from '../core/instances/imageNeighbours';
import { trainingImageLoader } from '../core/instances/runDataset';
import { generateFromInstance } from '../core/sampling/generateFromInstance';
import { sampleRun } from '../core/sampling/sampleRun';
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
  process.send?.(msg);
}

const COMMANDS = new Set<RunnerCommand['type']>(['train', 'resume', 'sample', 'generate', 'stop']);

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
        const ended = await trainNew(config, opts);
        return ended.status === 'finished' || ended.status === 'stopped' ? 0 : 1;
      }
      case 'resume': {
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
  // The extension going away (closed window, crash) must not leave a training orphaned.
  process.on('disconnect', () => {
    if (busy) stop = true;
    else process.exit(0);
  });
}

if (require.main === module) startIpcRunner();
