import { loadConfigFile } from '../core/config/loadConfig';
import { ConfigError } from '../core/config/configError';
import { isUserError } from '../core/errors';
import { resumeRun, trainNew, type JobOptions } from '../core/train/trainJob';
import type { RunnerCommand, RunnerMessage } from '../protocol/runnerCommands';

/**
 * The training process the extension forks (dist/runner.js). It takes one `train` or `resume`
 * command over the IPC channel, streams events back, and exits when the job ends. TensorFlow is
 * loaded here and only here, never in the extension host.
 */
function send(msg: RunnerMessage): void {
  process.send?.(msg);
}

function isCommand(value: unknown): value is RunnerCommand {
  const type = (value as { type?: unknown } | null)?.type;
  return type === 'train' || type === 'resume' || type === 'stop';
}

async function runCommand(
  cmd: Exclude<RunnerCommand, { type: 'stop' }>,
  shouldStop: () => boolean,
): Promise<number> {
  const opts: JobOptions = {
    steps: cmd.steps,
    backend: cmd.backend,
    shouldStop,
    onEvent: (event) => send({ type: 'event', event }),
  };
  try {
    let ended;
    if (cmd.type === 'train') {
      const config = loadConfigFile(cmd.configPath);
      if (cmd.runsDir) config.runsDir = cmd.runsDir;
      ended = await trainNew(config, opts);
    } else {
      ended = await resumeRun(cmd.runDir, opts);
    }
    return ended.status === 'finished' || ended.status === 'stopped' ? 0 : 1;
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
    void runCommand(msg, () => stop).then((code) => {
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
