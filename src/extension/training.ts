import * as path from 'node:path';
import * as vscode from 'vscode';
import { configName } from '../core/config/configName';
import type { JobCommand } from '../protocol/runnerCommands';
import type { RunEvent, StepEvent } from '../protocol/runnerEvents';
import { logRunEvent } from './outputLog';
import { RunnerProcess, type RunnerExit } from './runnerProcess';

/**
 * One training process for one config: the runner, its progress notification with a Stop
 * button, and the events it streams (re-emitted for the dashboard and the status bar).
 */
export class Training implements vscode.Disposable {
  readonly runner: RunnerProcess;
  readonly configPath: string;
  runDir: string | undefined;
  lastStep: StepEvent | undefined;
  private stopping = false;
  private readonly events = new vscode.EventEmitter<RunEvent>();
  readonly onEvent = this.events.event;

  constructor(
    configPath: string,
    command: JobCommand,
    runnerPath: string,
    nodePath: string,
    private readonly log: vscode.LogOutputChannel,
    private readonly stopTimeoutMs: number,
    env: NodeJS.ProcessEnv = {},
  ) {
    this.configPath = configPath;
    this.runner = new RunnerProcess(command, {
      runnerPath,
      nodePath,
      env,
      cwd: path.dirname(configPath),
      onEvent: (e) => this.handle(e),
      onOutput: (line) => this.log.info(`[runner ${this.runner.pid ?? '?'}] ${line}`),
    });
    this.log.info(
      `started runner ${this.runner.pid ?? '?'} for ${configPath} (${command.type}, node ${nodePath || 'extension host'})`,
    );
    void this.showProgress();
  }

  get name(): string {
    return configName(this.configPath);
  }

  get exited(): Promise<RunnerExit> {
    return this.runner.exited;
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  stop(): Promise<RunnerExit> {
    if (!this.stopping) {
      this.stopping = true;
      this.log.info(`stopping ${this.configPath}: asking the runner to checkpoint and exit`);
    }
    return this.runner.stop(this.stopTimeoutMs);
  }

  dispose(): void {
    // Closing the window: the runner checkpoints on the IPC disconnect, but must not outlive us.
    this.runner.kill();
    this.events.dispose();
  }

  private handle(e: RunEvent): void {
    if (e.type === 'run-started') this.runDir = e.runDir;
    if (e.type === 'step') this.lastStep = e;
    logRunEvent(this.log, e);
    this.events.fire(e);
  }

  private async showProgress(): Promise<void> {
    await vscode.window.withProgress(
      {
        location: vscode.ProgressLocation.Notification,
        title: `IC-GAN: training ${this.name}`,
        cancellable: true,
      },
      async (progress, token) => {
        token.onCancellationRequested(() => void this.stop());
        let reported = 0;
        let lastReport = 0;
        const sub = this.events.event((e) => {
          if (e.type !== 'step') return;
          // A notification redraw per step would flood the window at tens of steps a second.
          const now = Date.now();
          if (now - lastReport < PROGRESS_INTERVAL_MS && e.step < e.totalSteps) return;
          lastReport = now;
          const pct = (100 * e.step) / Math.max(1, e.totalSteps);
          const eta = e.etaSeconds > 0 ? `, ETA ${formatDuration(e.etaSeconds)}` : '';
          progress.report({
            increment: Math.max(0, pct - reported),
            message: `step ${e.step}/${e.totalSteps} · D ${e.dLoss.toFixed(3)} · G ${e.gLoss.toFixed(3)}${eta}`,
          });
          reported = Math.max(reported, pct);
        });
        try {
          await this.runner.exited;
        } finally {
          sub.dispose();
        }
      },
    );
  }
}

const PROGRESS_INTERVAL_MS = 500;

export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
