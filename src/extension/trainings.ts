import * as path from 'node:path';
import * as vscode from 'vscode';
import { listRuns, type RunRecord } from '../core/run/runIndex';
import type { JobCommand } from '../protocol/runnerCommands';
import { describeExit } from './runnerProcess';
import { runnerEnv } from './settings';
import { TrainingStatusBar } from './statusBar';
import type { StudioContext } from './studioContext';
import { Training } from './training';

/**
 * The trainings of the workspace, one per config: start (new or resumed), stop, the status bar,
 * and what happens when one ends. Their events go to the config's dashboard through the Studio.
 */
export class Trainings implements vscode.Disposable {
  private readonly running = new Map<string, Training>();
  private readonly statusBar = new TrainingStatusBar();
  private statusBarTimer: NodeJS.Timeout | undefined;

  constructor(private readonly studio: StudioContext) {}

  get(configPath: string): Training | undefined {
    return this.running.get(configPath);
  }

  has(configPath: string): boolean {
    return this.running.has(configPath);
  }

  /** Configs with a training in progress. */
  configs(): string[] {
    return [...this.running.keys()];
  }

  async train(configPath: string, resumeRunDir?: string): Promise<Training | undefined> {
    const { studio } = this;
    if (!studio.requireTrust('training')) return undefined;
    if (this.running.has(configPath)) {
      const c = await vscode.window.showInformationMessage(
        `IC-GAN: ${path.basename(configPath)} is already training (one training per config).`,
        'Open Dashboard',
      );
      if (c) studio.showDashboard(configPath);
      return undefined;
    }
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.fsPath === configPath);
    if (doc?.isDirty) await doc.save();
    const settings = studio.settingsFor(configPath);
    const roots = settings.allowPathsOutsideWorkspace
      ? {}
      : { allowedRoots: studio.workspaceRoots(configPath) };
    const command: JobCommand = resumeRunDir
      ? { type: 'resume', runDir: resumeRunDir, backend: settings.backend, ...roots }
      : {
          type: 'train',
          configPath,
          backend: settings.backend,
          ...(settings.runsDir ? { runsDir: studio.runsDirOf(configPath) } : {}),
          ...roots,
        };
    const training = new Training(
      configPath,
      command,
      studio.runnerPath,
      settings.nodePath,
      studio.log,
      settings.stopTimeoutSeconds * 1000,
      runnerEnv(settings),
    );
    this.running.set(configPath, training);
    this.updateStatusBar();
    training.onEvent((e) => {
      studio.dashboards.get(configPath)?.onRunEvent(e, training.runDir);
      if (e.type === 'run-started') this.updateStatusBar();
      else if (e.type === 'step') this.statusBarSoon();
    });
    studio.showDashboard(configPath, true).setTraining(true);
    void training.exited.then((exit) => {
      this.running.delete(configPath);
      training.dispose();
      this.updateStatusBar();
      // The full state: training off, and the run's final status from its run.json.
      studio.dashboards.get(configPath)?.refresh();
      const ok = exit.code === 0 || (training.isStopping && !exit.error);
      if (!ok) void this.reportFailure(configPath, describeExit(exit), exit.error?.field);
    });
    return training;
  }

  private async reportFailure(configPath: string, message: string, field?: string): Promise<void> {
    const { log } = this.studio;
    log.error(`${configPath}: ${message}`);
    const buttons = field ? ['Open Config', 'Open Log'] : ['Open Log'];
    const choice = await vscode.window.showErrorMessage(
      `IC-GAN: training ${path.basename(configPath)} failed: ${message}`,
      ...buttons,
    );
    if (choice === 'Open Log') log.show();
    if (choice === 'Open Config') await this.studio.openConfigAt(configPath, field);
  }

  async stop(configPath: string): Promise<void> {
    const training = this.running.get(configPath);
    if (!training) {
      void vscode.window.showInformationMessage(
        `IC-GAN: ${path.basename(configPath)} is not training.`,
      );
      return;
    }
    const exit = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: `IC-GAN: stopping ${training.name}` },
      () => training.stop(),
    );
    this.studio.log.info(
      `${configPath}: runner ended (${exit.signal ? `killed by ${exit.signal}` : `code ${exit.code}`})`,
    );
  }

  /** Runs of a config that a resume can continue: a checkpoint, and not finished. */
  resumableRuns(configPath: string): RunRecord[] {
    return listRuns(this.studio.runsDirOf(configPath), configPath).filter(
      (r) => r.hasCheckpoint && r.info.status !== 'finished',
    );
  }

  /** At most a few status-bar updates a second, however fast the steps come. */
  private statusBarSoon(): void {
    this.statusBarTimer ??= setTimeout(() => {
      this.statusBarTimer = undefined;
      this.updateStatusBar();
    }, 250);
  }

  private updateStatusBar(): void {
    this.statusBar.update(
      [...this.running.values()].map((t) => ({
        name: t.name,
        configPath: t.configPath,
        ...(t.lastStep ? { step: t.lastStep } : {}),
      })),
    );
  }

  /** Deactivation: ask every runner to checkpoint, then kill what hasn't exited. */
  async stopAll(timeoutMs: number): Promise<void> {
    await Promise.all([...this.running.values()].map((t) => t.runner.stop(timeoutMs)));
  }

  dispose(): void {
    clearTimeout(this.statusBarTimer);
    for (const t of this.running.values()) t.dispose();
    this.running.clear();
    this.statusBar.dispose();
  }
}
