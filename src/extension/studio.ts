import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { CONFIG_GLOB, configName } from '../core/config/configName';
import { runsDirOfConfig } from '../core/run/runIndex';
import type { WebviewToHost } from '../protocol/webviewMessages';
import { ConfigHoverProvider } from './configHover';
import { findFieldOffset } from './configText';
import { DASHBOARD_VIEW_TYPE, DashboardPanel, type DashboardHost } from './dashboardPanel';
import { OneShotJobs } from './oneShotJobs';
import type { RunnerOptions } from './runnerProcess';
import { readSettings, runnerEnv, type StudioSettings } from './settings';
import type { StudioContext } from './studioContext';
import { Trainings } from './trainings';

/**
 * The extension's one context object: the subscriptions, the log, the settings as they apply to
 * a config, workspace trust, and the dashboards (one per config), to which it routes what a
 * dashboard asks. Trainings (trainings.ts) and one-shot jobs (oneShotJobs.ts) hang off it;
 * commands are thin calls into them. Disposing it kills every runner.
 */
export class Studio implements vscode.Disposable, DashboardHost, StudioContext {
  readonly log: vscode.LogOutputChannel;
  readonly dashboards = new Map<string, DashboardPanel>();
  readonly trainings = new Trainings(this);
  readonly jobs = new OneShotJobs(this);
  private readonly subs: vscode.Disposable[] = [];

  constructor(readonly context: vscode.ExtensionContext) {
    this.log = vscode.window.createOutputChannel('IC-GAN', { log: true });
    this.subs.push(
      this.log,
      vscode.languages.registerHoverProvider(
        { scheme: 'file', pattern: CONFIG_GLOB },
        new ConfigHoverProvider((p) => this.isTraining(p)),
      ),
      vscode.window.registerWebviewPanelSerializer(DASHBOARD_VIEW_TYPE, {
        deserializeWebviewPanel: async (panel, state: unknown) => {
          const configPath = (state as { configPath?: unknown } | undefined)?.configPath;
          if (typeof configPath !== 'string' || !fs.existsSync(configPath)) {
            panel.dispose();
            return;
          }
          this.adoptPanel(configPath, panel);
        },
      }),
    );
  }

  get extensionUri(): vscode.Uri {
    return this.context.extensionUri;
  }

  get runnerPath(): string {
    return this.context.asAbsolutePath(path.join('dist', 'runner.js'));
  }

  runsDirOf(configPath: string): string {
    return runsDirOfConfig(configPath, this.settingsFor(configPath).runsDir);
  }

  isTraining(configPath: string): boolean {
    return this.trainings.has(configPath);
  }

  // ---- trust ----

  /** Training and model loading run code paths on workspace files: only in a trusted workspace. */
  requireTrust(action: string): boolean {
    if (vscode.workspace.isTrusted) return true;
    void vscode.window
      .showErrorMessage(
        `IC-GAN: ${action} is disabled in an untrusted workspace (it loads models and data from it). Trust the workspace to enable it.`,
        'Manage Workspace Trust',
      )
      .then((c) => c && vscode.commands.executeCommand('workbench.trust.manage'));
    return false;
  }

  /** The extension's settings as they apply to a config (its folder's, then the workspace's). */
  settingsFor(configPath: string): StudioSettings {
    return readSettings(vscode.Uri.file(configPath));
  }

  /** How to start a runner for a job on a config, with that config's settings. */
  runnerOptions(configPath: string): RunnerOptions {
    const settings = this.settingsFor(configPath);
    return { runnerPath: this.runnerPath, nodePath: settings.nodePath, env: runnerEnv(settings) };
  }

  /** The folders a config may read and write: the workspace's (or the config's own folder). */
  workspaceRoots(configPath: string): string[] {
    const folders = (vscode.workspace.workspaceFolders ?? [])
      .filter((f) => f.uri.scheme === 'file')
      .map((f) => f.uri.fsPath);
    return folders.length > 0 ? folders : [path.dirname(configPath)];
  }

  async openConfigAt(configPath: string, field?: string): Promise<void> {
    const doc = await vscode.workspace.openTextDocument(configPath);
    const offset = field ? findFieldOffset(doc.getText(), field) : -1;
    const pos = doc.positionAt(Math.max(0, offset));
    await vscode.window.showTextDocument(doc, {
      selection: new vscode.Range(pos, pos),
      viewColumn: vscode.ViewColumn.One,
    });
  }

  // ---- dashboards ----

  showDashboard(configPath: string, preserveFocus = false): DashboardPanel {
    const existing = this.dashboards.get(configPath);
    if (existing) {
      existing.reveal(preserveFocus);
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(
      DASHBOARD_VIEW_TYPE,
      `IC-GAN: ${configName(configPath)}`,
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus },
    );
    return this.adoptPanel(configPath, panel);
  }

  private adoptPanel(configPath: string, panel: vscode.WebviewPanel): DashboardPanel {
    const dash = new DashboardPanel(configPath, panel, this);
    this.dashboards.set(configPath, dash);
    return dash;
  }

  disposed(panel: DashboardPanel): void {
    if (this.dashboards.get(panel.configPath) === panel) this.dashboards.delete(panel.configPath);
  }

  handle(configPath: string, message: WebviewToHost): void {
    switch (message.type) {
      case 'train':
        void this.trainings.train(configPath);
        break;
      case 'stop':
        void this.trainings.stop(configPath);
        break;
      case 'resume': {
        const run = this.dashboards.get(configPath)?.runRecord(message.run);
        if (run) void this.trainings.train(configPath, run.dir);
        break;
      }
      case 'generate':
        void this.jobs.generateFromInstance(configPath, message);
        break;
      case 'sampleTags':
        void this.jobs.sampleFromTags(configPath, message);
        break;
      case 'openLog':
        this.log.show(true);
        break;
      case 'openConfig':
        void this.openConfigAt(configPath);
        break;
      case 'ready':
      case 'loadRun':
        // Answered by the panel itself.
        break;
    }
  }

  // ---- lifetime ----

  /** Deactivation: ask every runner to checkpoint, then kill what hasn't exited. */
  async shutdown(timeoutMs = 4000): Promise<void> {
    await this.trainings.stopAll(timeoutMs);
    this.dispose();
  }

  dispose(): void {
    this.trainings.dispose();
    for (const d of [...this.dashboards.values()]) d.panel.dispose();
    for (const s of this.subs.splice(0)) s.dispose();
  }
}
