import { ConfigError } from '../core/config/configError';
import { isUserError } from '../core/errors';
import {
  RUNNER_COMMAND_TYPES,
  type RunnerCommand,
  type RunnerMessage,
} from '../protocol/runnerCommands';
import type { RunEvent } from '../protocol/runnerEvents';
import { executeJob, jobFailed } from './jobs';

/**
 * The process the extension forks (dist/runner.js) for every job. Only the transport: it takes
 * one command over the IPC channel, hands it to the executor (jobs.ts), streams its events,
 * answers its result (or error) and its exit code, and exits. TensorFlow is loaded here and only
 * here, never in the extension host.
 */
function send(msg: RunnerMessage): void {
  // After the extension went away the channel is closed: the job still ends cleanly (checkpoint,
  // run.json), with nobody left to tell.
  if (!process.connected) return;
  // With a callback, a send that fails because the other end just died (EPIPE) is reported
  // here instead of as an 'error' event that would crash the process mid-checkpoint.
  process.send?.(msg, undefined, {}, () => undefined);
}

function isCommand(value: unknown): value is RunnerCommand {
  const type = (value as { type?: unknown } | null)?.type;
  return typeof type === 'string' && Object.hasOwn(RUNNER_COMMAND_TYPES, type);
}

/** The runner's error message for a job that threw: a user's mistake as is, else a bug. */
function errorMessage(err: unknown): Extract<RunnerMessage, { type: 'error' }> {
  const message = err instanceof Error ? err.message : String(err);
  const issue = err instanceof ConfigError ? err.issues[0] : undefined;
  return {
    type: 'error',
    message: isUserError(err) ? message : `internal error: ${message}`,
    configFile: err instanceof ConfigError ? err.file : undefined,
    field: issue?.field,
  };
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
    const hooks = {
      onEvent: (event: RunEvent) => send({ type: 'event', event }),
      shouldStop: () => stop,
    };
    void executeJob(msg, hooks)
      .then(
        (output) => {
          send({ type: 'result', output });
          return jobFailed(output) ? 1 : 0;
        },
        (err: unknown) => {
          send(errorMessage(err));
          return 1;
        },
      )
      .then((code) => {
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
