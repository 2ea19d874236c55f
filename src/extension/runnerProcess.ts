import { fork, type ChildProcess } from 'node:child_process';
import * as os from 'node:os';
import type { JobCommand, JobOutputOf, RunnerMessage } from '../protocol/runnerCommands';
import type { RunEvent } from '../protocol/runnerEvents';

/**
 * A typed client for one runner process (dist/runner.js), forked with an IPC channel. The
 * extension host talks to TensorFlow only through this. No VS Code import, so it is tested in
 * plain Node against the real runner.
 */

export interface RunnerExit {
  /**
   * The job's exit code as the runner reported it (its `exit` message), else the process's;
   * null when killed by a signal before it reported one.
   */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The runner's own error message, when it sent one. */
  error?: { message: string; configFile?: string; field?: string };
  /** The last lines the process wrote to stderr (a crash's stack, a native loader's complaint). */
  stderrTail: string;
}

export interface RunnerOptions {
  runnerPath: string;
  /** Node executable; default: the extension host's own (Electron run as Node). */
  nodePath?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  onEvent?: (event: RunEvent) => void;
  onOutput?: (line: string) => void;
  /** Scheduling niceness of the runner (0 = the extension host's priority). */
  niceness?: number;
}

const DEFAULT_NICENESS = 10;

const STDERR_TAIL_LINES = 40;

export class RunnerProcess<C extends JobCommand = JobCommand> {
  readonly exited: Promise<RunnerExit>;
  private readonly child: ChildProcess;
  private output: JobOutputOf<C> | undefined;
  private reportedCode: number | undefined;
  private error: RunnerExit['error'];
  private stderrLines: string[] = [];
  private alive = true;

  constructor(
    readonly command: C,
    private readonly opts: RunnerOptions,
  ) {
    this.child = fork(opts.runnerPath, [], {
      cwd: opts.cwd,
      // ELECTRON_RUN_AS_NODE makes VS Code's Electron binary behave as Node when it is execPath.
      env: { ...process.env, ...opts.env, ELECTRON_RUN_AS_NODE: '1' },
      execPath: opts.nodePath || undefined,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
    this.exited = new Promise((resolve) => {
      let settled = false;
      const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (settled) return;
        settled = true;
        this.alive = false;
        resolve({
          code: this.reportedCode ?? code,
          signal,
          ...(this.error ? { error: this.error } : {}),
          stderrTail: this.stderrLines.join('\n'),
        });
      };
      this.child.on('exit', finish);
      // A spawn failure (a wrong Node path) emits 'error' and may never emit 'exit'.
      this.child.on('error', (err) => {
        this.error ??= { message: `cannot start the runner: ${err.message}` };
        finish(null, null);
      });
    });
    this.lowerPriority(opts.niceness ?? DEFAULT_NICENESS);
    this.child.on('message', (msg: RunnerMessage) => this.onMessage(msg));
    this.pipeLines(this.child.stdout, false);
    this.pipeLines(this.child.stderr, true);
    this.child.send(command);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.alive;
  }

  /** The job's result, once the runner has sent it. */
  get result(): JobOutputOf<C> | undefined {
    return this.output;
  }

  /**
   * Asks the job to checkpoint and exit; kills it when it hasn't after `timeoutMs`. Resolves
   * with the exit either way.
   */
  async stop(timeoutMs = 30_000): Promise<RunnerExit> {
    if (this.alive && this.child.connected) this.child.send({ type: 'stop' });
    const timer = setTimeout(() => this.kill(), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Training saturates the cores it is given; below normal priority the editor (and the
   * dashboard showing the training) stays responsive on a small machine. Best effort.
   */
  private lowerPriority(niceness: number): void {
    if (this.child.pid === undefined || niceness === 0) return;
    try {
      os.setPriority(this.child.pid, niceness);
    } catch {
      // Not permitted or not supported: the runner keeps normal priority.
    }
  }

  kill(): void {
    if (this.alive) this.child.kill('SIGKILL');
  }

  private onMessage(msg: RunnerMessage): void {
    switch (msg.type) {
      case 'event':
        this.opts.onEvent?.(msg.event);
        break;
      case 'result':
        // The runner answers the command it was sent (src/runner/jobs.ts is typed the same way).
        this.output = msg.output as JobOutputOf<C>;
        break;
      case 'error':
        this.error = {
          message: msg.message,
          ...(msg.configFile ? { configFile: msg.configFile } : {}),
          ...(msg.field ? { field: msg.field } : {}),
        };
        break;
      case 'exit':
        this.reportedCode = msg.code;
        break;
    }
  }

  private pipeLines(stream: NodeJS.ReadableStream | null, isStderr: boolean): void {
    if (!stream) return;
    let pending = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) this.line(line, isStderr);
    });
    stream.on('end', () => {
      if (pending) this.line(pending, isStderr);
    });
  }

  private line(line: string, isStderr: boolean): void {
    this.opts.onOutput?.(line);
    if (isStderr) {
      this.stderrLines.push(line);
      if (this.stderrLines.length > STDERR_TAIL_LINES) this.stderrLines.shift();
    }
  }
}

/**
 * Runs a job to its end and returns its output, typed by the command; throws with the runner's
 * message when it failed (an error, a non-zero exit code, or no result).
 */
export async function runJob<C extends JobCommand>(
  command: C,
  opts: RunnerOptions,
): Promise<JobOutputOf<C>> {
  const runner = new RunnerProcess(command, opts);
  const exit = await runner.exited;
  if (runner.result !== undefined && exit.code === 0) return runner.result;
  throw new Error(describeExit(exit));
}

/** One line for a runner that ended without doing its job. */
export function describeExit(exit: RunnerExit): string {
  if (exit.error) return exit.error.message;
  const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
  const last = exit.stderrTail.trim().split('\n').pop();
  return `the runner ${how}${last ? `: ${last}` : ''}`;
}
