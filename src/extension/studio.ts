import { randomInt } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { CONFIG_GLOB, configName } from '../core/config/configName';
import { listRuns, runsDirOfConfig, type RunRecord } from '../core/run/runIndex';
import { RUN_FILES } from '../core/run/runFolder';
import type { GenerateOutput, JobCommand } from '../protocol/runnerCommands';
import type { RunEvent } from '../protocol/runnerEvents';
import type { GeneratedView, WebviewToHost } from '../protocol/webviewMessages';
import { ConfigHoverProvider } from './configHover';
import { findFieldOffset } from './configText';
import { DASHBOARD_VIEW_TYPE, DashboardPanel, type DashboardHost } from './dashboardPanel';
import { describeExit, runToResult, type RunnerOptions } from './runnerProcess';
import { readSettings, runnerEnv } from './settings';
import { TrainingStatusBar } from './statusBar';
import { workspaceConfigs } from './targets';
import { Training } from './training';

const INSTANCE_MODELS = new Set(['icgan', 'icgan-class']);

/** Tags the tagger lists per image (the dashboard shows them all). */
const SUGGESTED_TAGS = 10;
/** Of those, the ones the notification names and Copy Tags copies. */
const NOTIFIED_TAGS = 5;

type InstanceRun = { run: RunRecord; configPath: string };

/**
 * The extension's one context object: it owns the subscriptions, the runner processes (one
 * training per config), the dashboards (one per config), the status bar and the log. Commands
 * are thin calls into it; disposing it kills every runner.
 */
export class Studio implements vscode.Disposable, DashboardHost {
  readonly log: vscode.LogOutputChannel;
  readonly trainings = new Map<string, Training>();
  readonly dashboards = new Map<string, DashboardPanel>();
  private readonly statusBar = new TrainingStatusBar();
  private readonly subs: vscode.Disposable[] = [];

  constructor(readonly context: vscode.ExtensionContext) {
    this.log = vscode.window.createOutputChannel('IC-GAN', { log: true });
    this.subs.push(
      this.log,
      this.statusBar,
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
    return runsDirOfConfig(configPath, readSettings(vscode.Uri.file(configPath)).runsDir);
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

  // ---- training ----

  async train(configPath: string, resumeRunDir?: string): Promise<Training | undefined> {
    if (!this.requireTrust('training')) return undefined;
    const running = this.trainings.get(configPath);
    if (running) {
      const c = await vscode.window.showInformationMessage(
        `IC-GAN: ${path.basename(configPath)} is already training (one training per config).`,
        'Open Dashboard',
      );
      if (c) this.showDashboard(configPath);
      return undefined;
    }
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.fsPath === configPath);
    if (doc?.isDirty) await doc.save();
    const settings = readSettings(vscode.Uri.file(configPath));
    const roots = settings.allowPathsOutsideWorkspace
      ? {}
      : { allowedRoots: this.workspaceRoots(configPath) };
    const command: JobCommand = resumeRunDir
      ? { type: 'resume', runDir: resumeRunDir, backend: settings.backend, ...roots }
      : {
          type: 'train',
          configPath,
          backend: settings.backend,
          ...(settings.runsDir ? { runsDir: this.runsDirOf(configPath) } : {}),
          ...roots,
        };
    const training = new Training(
      configPath,
      command,
      this.runnerPath,
      settings.nodePath,
      this.log,
      settings.stopTimeoutSeconds * 1000,
      runnerEnv(settings),
    );
    this.trainings.set(configPath, training);
    this.updateStatusBar();
    training.onEvent((e) => {
      this.dashboards.get(configPath)?.onRunEvent(e, training.runDir);
      if (e.type === 'run-started') this.updateStatusBar();
      else if (e.type === 'step') this.statusBarSoon();
    });
    this.showDashboard(configPath, true);
    this.dashboards.get(configPath)?.setTraining(true);
    void training.exited.then((exit) => {
      this.trainings.delete(configPath);
      training.dispose();
      this.updateStatusBar();
      // The full state: training off, and the run's final status from its run.json.
      const dash = this.dashboards.get(configPath);
      dash?.post({ type: 'state', state: dash.state() });
      const ok = exit.code === 0 || (training.isStopping && !exit.error);
      if (!ok) void this.reportFailure(configPath, describeExit(exit), exit.error?.field);
    });
    return training;
  }

  /** The folders a config may read and write: the workspace's (or the config's own folder). */
  private workspaceRoots(configPath: string): string[] {
    const folders = (vscode.workspace.workspaceFolders ?? [])
      .filter((f) => f.uri.scheme === 'file')
      .map((f) => f.uri.fsPath);
    return folders.length > 0 ? folders : [path.dirname(configPath)];
  }

  private async reportFailure(configPath: string, message: string, field?: string): Promise<void> {
    this.log.error(`${configPath}: ${message}`);
    const buttons = field ? ['Open Config', 'Open Log'] : ['Open Log'];
    const choice = await vscode.window.showErrorMessage(
      `IC-GAN: training ${path.basename(configPath)} failed: ${message}`,
      ...buttons,
    );
    if (choice === 'Open Log') this.log.show();
    if (choice === 'Open Config') await this.openConfigAt(configPath, field);
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

  async stop(configPath: string): Promise<void> {
    const training = this.trainings.get(configPath);
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
    this.log.info(
      `${configPath}: runner ended (${exit.signal ? `killed by ${exit.signal}` : `code ${exit.code}`})`,
    );
  }

  /** Runs of a config that a resume can continue: a checkpoint, and not finished. */
  resumableRuns(configPath: string): RunRecord[] {
    return listRuns(this.runsDirOf(configPath), configPath).filter(
      (r) => r.hasCheckpoint && r.info.status !== 'finished',
    );
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
        void this.train(configPath);
        break;
      case 'stop':
        void this.stop(configPath);
        break;
      case 'resume': {
        const run = this.dashboards.get(configPath)?.runRecord(message.run);
        if (run) void this.train(configPath, run.dir);
        break;
      }
      case 'generate':
        void this.generateFromInstance(configPath, message);
        break;
      case 'sampleTags':
        void this.sampleFromTags(configPath, message);
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

  // ---- generation ----

  private async generateFromInstance(
    configPath: string,
    m: Extract<WebviewToHost, { type: 'generate' }>,
  ): Promise<void> {
    const dash = this.dashboards.get(configPath);
    const run = dash?.runRecord(m.run);
    if (!dash || !run) return;
    if (!this.requireTrust('generation')) {
      dash.post({
        type: 'generateFailed',
        requestId: m.requestId,
        message: 'untrusted workspace',
      });
      return;
    }
    try {
      const output = (await runToResult(
        {
          type: 'generate',
          runDir: run.dir,
          source: { instance: m.instance },
          count: m.count,
          candidates: Math.max(m.count, m.count * 4),
          truncation: m.truncation,
          seed: m.seed,
          ...(m.className ? { className: m.className } : {}),
          backend: readSettings().backend,
        },
        this.runnerOptions(),
      )) as GenerateOutput;
      dash.addGenerated(
        this.generatedView(dash, run.name, output, { instance: m.instance }, m, m.requestId),
      );
    } catch (err) {
      const message = (err as Error).message;
      this.log.error(`generate from instance ${m.instance} of ${run.name}: ${message}`);
      dash.post({ type: 'generateFailed', requestId: m.requestId, message });
    }
  }

  /** Instance transfer from an image in the explorer: the paper's headline use. */
  async generateFromImage(imagePath: string): Promise<void> {
    if (!this.requireTrust('generation')) return;
    const chosen = await this.pickInstanceRun(
      `Generate from ${path.basename(imagePath)} with which run?`,
    );
    if (!chosen) return;
    const { run, configPath } = chosen;
    const opts = { seed: randomInt(2 ** 31 - 1), truncation: 1, count: 16 };
    try {
      const output = await vscode.window.withProgress(
        {
          location: vscode.ProgressLocation.Notification,
          title: `IC-GAN: generating from ${path.basename(imagePath)} with ${run.name}`,
        },
        () =>
          runToResult(
            {
              type: 'generate',
              runDir: run.dir,
              source: { image: imagePath },
              count: opts.count,
              candidates: 160,
              truncation: opts.truncation,
              seed: opts.seed,
              neighbours: 5,
              backend: readSettings().backend,
            },
            this.runnerOptions(),
          ),
      );
      if (output.kind !== 'generate') throw new Error('the runner answered with no generation');
      this.log.info(
        `generated ${output.files.length} images from ${imagePath} in ${output.outDir}`,
      );
      const dash = this.showDashboard(configPath);
      dash.addGenerated(
        this.generatedView(dash, run.name, output, { image: path.basename(imagePath) }, opts),
      );
    } catch (err) {
      const message = (err as Error).message;
      this.log.error(`generate from ${imagePath}: ${message}`);
      const c = await vscode.window.showErrorMessage(
        `IC-GAN: generating from ${path.basename(imagePath)} failed: ${message}`,
        'Open Log',
      );
      if (c) this.log.show();
    }
  }

  /** A grid from a tags-conditioned run in which every image has the tags the dashboard picked. */
  private async sampleFromTags(
    configPath: string,
    m: Extract<WebviewToHost, { type: 'sampleTags' }>,
  ): Promise<void> {
    const dash = this.dashboards.get(configPath);
    if (!dash) return;
    const fail = (message: string): void =>
      dash.post({ type: 'generateFailed', requestId: m.requestId, message });
    const run = dash.runRecord(m.run);
    if (!run) {
      fail(`${m.run} is not a run of this config`);
      return;
    }
    if (!this.requireTrust('generation')) {
      fail('untrusted workspace');
      return;
    }
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    try {
      const output = await runToResult(
        {
          type: 'sample',
          runDir: run.dir,
          count: m.count,
          tags: m.tags,
          truncation: m.truncation,
          seed: m.seed,
          // Under the run folder, so the webview may load it (localResourceRoots).
          out: path.join(run.dir, RUN_FILES.samples, `tags-${stamp}.png`),
          backend: readSettings().backend,
        },
        this.runnerOptions(),
      );
      if (output.kind !== 'sample') throw new Error('the runner answered with no samples');
      dash.addTagSamples({
        requestId: m.requestId,
        run: run.name,
        tags: m.tags,
        uri: dash.toUri(output.file),
        count: output.count,
        columns: output.columns,
      });
    } catch (err) {
      const message = (err as Error).message;
      this.log.error(`sample ${m.tags.join(', ')} from ${run.name}: ${message}`);
      fail(message);
    }
  }

  /** Image → tags with an IC-GAN run's tagger (trained by the runner on the run's first request). */
  async suggestTags(imagePath: string): Promise<void> {
    if (!this.requireTrust('tag suggestion')) return;
    const name = path.basename(imagePath);
    const chosen = await this.pickInstanceRun(`Suggest tags for ${name} with which run?`);
    if (!chosen) return;
    const { run, configPath } = chosen;
    try {
      const output = await vscode.window.withProgress(
        {
          location: vscode.ProgressLocation.Notification,
          title: `IC-GAN: suggesting tags for ${name} with ${run.name} (the first request on a run trains its tagger: a minute or more)`,
        },
        (progress) =>
          runToResult(
            {
              type: 'tag',
              runDir: run.dir,
              images: [imagePath],
              top: SUGGESTED_TAGS,
              // Fixed, as the CLI's default: the same image gets the same suggestions.
              seed: 0,
              backend: readSettings().backend,
            },
            {
              ...this.runnerOptions(),
              // The tagger's training log is the only progress there is.
              onEvent: (e) => {
                if (e.type !== 'log') return;
                this.logRunnerLine(run.name, e);
                progress.report({ message: e.message });
              },
            },
          ),
      );
      if (output.kind !== 'tag') throw new Error('the runner answered with no tags');
      const tags = output.images[0]?.tags ?? [];
      this.log.info(
        `tags for ${imagePath} from ${run.name}${output.trained ? ' (tagger trained now)' : ''}: ` +
          tags.map((t) => `${t.tag} ${t.score.toFixed(2)}`).join(', '),
      );
      this.showDashboard(configPath).addSuggestedTags({
        run: run.name,
        image: name,
        tags,
        trained: output.trained,
        embedding: output.embedding,
      });
      const voted = tags.filter((t) => t.score > 0);
      const shown = voted.slice(0, NOTIFIED_TAGS);
      if (shown.length === 0) {
        void vscode.window.showInformationMessage(
          `IC-GAN: no tag got a vote for ${name} from ${run.name}'s tagger.`,
        );
        return;
      }
      const list = shown.map((t) => `${t.tag} ${t.score.toFixed(2)}`).join(', ');
      const more = voted.length > shown.length ? ', …' : '';
      const c = await vscode.window.showInformationMessage(
        `IC-GAN: Suggested tags for ${name}: ${list}${more}`,
        'Copy Tags',
      );
      if (c) await vscode.env.clipboard.writeText(shown.map((t) => t.tag).join(', '));
    } catch (err) {
      const message = (err as Error).message;
      this.log.error(`suggest tags for ${imagePath}: ${message}`);
      const c = await vscode.window.showErrorMessage(
        `IC-GAN: suggesting tags for ${name} failed: ${message}`,
        'Open Log',
      );
      if (c) this.log.show();
    }
  }

  private logRunnerLine(run: string, e: Extract<RunEvent, { type: 'log' }>): void {
    const line = `${run}: ${e.message}`;
    if (e.level === 'error') this.log.error(line);
    else if (e.level === 'warn') this.log.warn(line);
    else this.log.info(line);
  }

  /**
   * The IC-GAN run an image command uses: the newest, or a quick pick when there are several.
   * Undefined when there is none (after saying so) or the pick was dismissed.
   */
  private async pickInstanceRun(placeHolder: string): Promise<InstanceRun | undefined> {
    const candidates = await this.instanceRuns();
    if (candidates.length === 0) {
      void vscode.window.showErrorMessage(
        'IC-GAN: no trained IC-GAN run (model icgan or icgan-class, with a checkpoint) in this workspace. Train one first.',
      );
      return undefined;
    }
    if (candidates.length === 1) return candidates[0];
    const pick = await vscode.window.showQuickPick(
      candidates.map((c, i) => ({
        label: c.run.name,
        description: `${path.basename(c.configPath)} · ${c.run.info.model} · step ${c.run.info.step}${i === 0 ? ' · newest' : ''}`,
        c,
      })),
      { placeHolder },
    );
    return pick?.c;
  }

  /** IC-GAN runs with a checkpoint across the workspace's configs, newest first. */
  async instanceRuns(): Promise<InstanceRun[]> {
    const out: InstanceRun[] = [];
    for (const configPath of await workspaceConfigs()) {
      for (const run of listRuns(this.runsDirOf(configPath), configPath)) {
        if (run.hasCheckpoint && INSTANCE_MODELS.has(run.info.model)) out.push({ run, configPath });
      }
    }
    return out.sort((a, b) => b.run.info.updatedAt.localeCompare(a.run.info.updatedAt));
  }

  private runnerOptions(): RunnerOptions {
    const settings = readSettings();
    return { runnerPath: this.runnerPath, nodePath: settings.nodePath, env: runnerEnv(settings) };
  }

  private generatedView(
    dash: DashboardPanel,
    run: string,
    output: GenerateOutput,
    source: GeneratedView['source'],
    opts: { seed: number; truncation: number },
    requestId?: number,
  ): GeneratedView {
    return {
      ...(requestId !== undefined ? { requestId } : {}),
      run,
      source,
      gridUri: dash.toUri(output.grid),
      count: output.files.length,
      similarities: output.similarities,
      ...(output.neighboursStrip ? { neighboursUri: dash.toUri(output.neighboursStrip) } : {}),
      ...(output.nearestInstance !== undefined ? { nearestInstance: output.nearestInstance } : {}),
      ...(output.className !== undefined ? { className: output.className } : {}),
      seed: opts.seed,
      truncation: opts.truncation,
    };
  }

  // ---- lifetime ----

  private statusBarTimer: NodeJS.Timeout | undefined;

  /** At most a few status-bar updates a second, however fast the steps come. */
  private statusBarSoon(): void {
    this.statusBarTimer ??= setTimeout(() => {
      this.statusBarTimer = undefined;
      this.updateStatusBar();
    }, 250);
  }

  private updateStatusBar(): void {
    this.statusBar.update(
      [...this.trainings.values()].map((t) => ({
        name: t.name,
        configPath: t.configPath,
        ...(t.lastStep ? { step: t.lastStep } : {}),
      })),
    );
  }

  /** Deactivation: ask every runner to checkpoint, then kill what hasn't exited. */
  async shutdown(timeoutMs = 4000): Promise<void> {
    await Promise.all([...this.trainings.values()].map((t) => t.runner.stop(timeoutMs)));
    this.dispose();
  }

  dispose(): void {
    clearTimeout(this.statusBarTimer);
    for (const t of this.trainings.values()) t.dispose();
    this.trainings.clear();
    for (const d of [...this.dashboards.values()]) d.panel.dispose();
    for (const s of this.subs.splice(0)) s.dispose();
  }
}
