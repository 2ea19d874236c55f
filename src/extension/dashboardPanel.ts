import * as path from 'node:path';
import * as vscode from 'vscode';
import { configName } from '../core/config/configName';
import { listRuns, readRun, type RunRecord } from '../core/run/runIndex';
import type { RunEvent } from '../protocol/runnerEvents';
import {
  MAX_SUGGESTED_TAGS,
  MAX_TAG_SAMPLES,
  parseWebviewMessage,
  type DashboardState,
  type GeneratedView,
  type HostToWebview,
  type LossPoint,
  type SuggestedTagsView,
  type TagSamplesView,
  type WebviewToHost,
} from '../protocol/webviewMessages';
import { dashboardHtml } from './dashboardHtml';
import {
  buildRunView,
  diversityView,
  galleryView,
  logLine,
  lossPoint,
  sampleGrid,
  summaryOf,
  type ToUri,
} from './runViews';

export const DASHBOARD_VIEW_TYPE = 'icgan.dashboard';

/** What a dashboard needs from the extension (the Studio implements it). */
export interface DashboardHost {
  readonly extensionUri: vscode.Uri;
  readonly log: vscode.LogOutputChannel;
  runsDirOf(configPath: string): string;
  isTraining(configPath: string): boolean;
  handle(configPath: string, message: WebviewToHost): void;
  disposed(panel: DashboardPanel): void;
}

/** How often batched loss points go to the webview. */
const STEP_FLUSH_MS = 250;

/** Generated views kept per panel (the newest), so a reloaded panel shows them again. */
const MAX_GENERATED = 20;

/**
 * The dashboard of one config. The webview holds no data of its own: on `ready` (first load, and
 * every time it becomes visible again after being hidden, when VS Code reloads it) it gets the
 * full state, rebuilt from the run folders on disk — so whatever it missed while hidden is
 * replayed — then live deltas.
 */
export class DashboardPanel implements vscode.Disposable {
  private ready = false;
  private readonly generated: GeneratedView[] = [];
  /** Newest first, like the state that carries them. */
  private readonly tagSamples: TagSamplesView[] = [];
  private readonly suggestedTags: SuggestedTagsView[] = [];
  /** The run shown: set by a training's run-started, or the newest on disk. */
  private currentRun: string | undefined;
  private readonly subs: vscode.Disposable[] = [];
  /** Loss points waiting for the next flush (a fast run logs tens of steps per second). */
  private pendingSteps: { run: string; points: LossPoint[] } | undefined;
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly configPath: string,
    readonly panel: vscode.WebviewPanel,
    private readonly host: DashboardHost,
  ) {
    panel.title = `IC-GAN: ${configName(configPath)}`;
    panel.iconPath = vscode.Uri.joinPath(host.extensionUri, 'media', 'icon.png');
    this.configureWebview();
    this.subs.push(
      panel.webview.onDidReceiveMessage((raw: unknown) => this.receive(raw)),
      panel.onDidChangeViewState(() => {
        if (!panel.visible) this.ready = false;
      }),
      panel.onDidDispose(() => this.dispose()),
    );
  }

  get runsDir(): string {
    return this.host.runsDirOf(this.configPath);
  }

  reveal(preserveFocus = false): void {
    this.panel.reveal(undefined, preserveFocus);
  }

  /** A training event for this config. */
  onRunEvent(e: RunEvent, runDir: string | undefined): void {
    const run = runDir ? path.basename(runDir) : this.currentRun;
    if (!run || !runDir) return;
    // Whatever follows a step (samples, the end of the run) must not overtake it.
    if (e.type !== 'step') this.flushSteps();
    const toUri = this.toUri;
    switch (e.type) {
      case 'run-started': {
        this.currentRun = run;
        const record = readRun(runDir);
        if (record) this.post({ type: 'run', view: buildRunView(record, toUri) });
        this.post({ type: 'training', training: true });
        return;
      }
      case 'step':
        this.queueStep(run, lossPoint(e));
        return;
      case 'samples':
        this.post({ type: 'samples', run, grid: sampleGrid(runDir, e, toUri) });
        break;
      case 'gallery':
        this.post({ type: 'gallery', run, gallery: galleryView(runDir, e, toUri) });
        break;
      case 'diversity':
        this.post({ type: 'diversity', run, diversity: diversityView(e) });
        break;
      case 'checkpoint':
      case 'run-ended': {
        const record = readRun(runDir);
        if (record) this.post({ type: 'summary', summary: summaryOf(record) });
        break;
      }
      case 'log':
        break;
    }
    const line = logLine(e);
    if (line !== null) this.post({ type: 'log', run, line });
  }

  private queueStep(run: string, point: LossPoint): void {
    if (this.pendingSteps && this.pendingSteps.run !== run) this.flushSteps();
    this.pendingSteps ??= { run, points: [] };
    this.pendingSteps.points.push(point);
    this.flushTimer ??= setTimeout(() => this.flushSteps(), STEP_FLUSH_MS);
  }

  private flushSteps(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const pending = this.pendingSteps;
    this.pendingSteps = undefined;
    if (pending) this.post({ type: 'steps', run: pending.run, points: pending.points });
  }

  setTraining(training: boolean): void {
    this.post({ type: 'training', training });
  }

  /** Sends the full state again (a training ended: its final status is in its run.json). */
  refresh(): void {
    this.post({ type: 'state', state: this.state() });
  }

  /** A generation or tag-sampling request from this dashboard failed. */
  requestFailed(requestId: number, message: string): void {
    this.post({ type: 'generateFailed', requestId, message });
  }

  addGenerated(view: GeneratedView): void {
    this.generated.push(view);
    if (this.generated.length > MAX_GENERATED) this.generated.shift();
    this.post({ type: 'generated', view });
  }

  addTagSamples(view: TagSamplesView): void {
    pushNewest(this.tagSamples, view, MAX_TAG_SAMPLES);
    this.post({ type: 'tagSamples', ...view });
  }

  addSuggestedTags(view: SuggestedTagsView): void {
    pushNewest(this.suggestedTags, view, MAX_SUGGESTED_TAGS);
    this.post({ type: 'suggestedTags', view });
  }

  /** The only way anything reaches the webview. */
  private post(message: HostToWebview): void {
    // A hidden webview drops messages; it asks for the full state when it shows again.
    if (this.ready) void this.panel.webview.postMessage(message);
  }

  /** Makes a file under the runs folder loadable in the webview. */
  readonly toUri: ToUri = (p) => this.panel.webview.asWebviewUri(vscode.Uri.file(p)).toString();

  runRecord(name: string): RunRecord | null {
    // Only names of runs listed for this config: a webview can't make the host read elsewhere.
    return listRuns(this.runsDir, this.configPath).find((r) => r.name === name) ?? null;
  }

  state(): DashboardState {
    const runs = listRuns(this.runsDir, this.configPath);
    const current = runs.find((r) => r.name === this.currentRun) ?? runs[0];
    return {
      configPath: this.configPath,
      configName: configName(this.configPath),
      training: this.host.isTraining(this.configPath),
      trusted: vscode.workspace.isTrusted,
      runs: runs.map(summaryOf),
      current: current ? buildRunView(current, this.toUri) : null,
      generated: [...this.generated],
      tagSamples: [...this.tagSamples],
      suggestedTags: [...this.suggestedTags],
    };
  }

  dispose(): void {
    clearTimeout(this.flushTimer);
    this.ready = false;
    for (const s of this.subs.splice(0)) s.dispose();
    this.host.disposed(this);
  }

  private configureWebview(): void {
    const { webview } = this.panel;
    webview.options = {
      enableScripts: true,
      // The bundle and media of the extension, and this config's runs: nothing else loads.
      localResourceRoots: [
        vscode.Uri.joinPath(this.host.extensionUri, 'dist'),
        vscode.Uri.joinPath(this.host.extensionUri, 'media'),
        vscode.Uri.file(this.runsDir),
      ],
    };
    const dist = vscode.Uri.joinPath(this.host.extensionUri, 'dist');
    webview.html = dashboardHtml({
      cspSource: webview.cspSource,
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.css')).toString(),
      title: this.panel.title,
    });
  }

  private receive(raw: unknown): void {
    const message = parseWebviewMessage(raw);
    if (!message) {
      const text = JSON.stringify(raw) ?? String(raw);
      this.host.log.warn(
        `dashboard ${this.configPath}: ignored a message outside the protocol: ${text.slice(0, 200)}`,
      );
      return;
    }
    if (message.type === 'ready') {
      this.ready = true;
      this.post({ type: 'state', state: this.state() });
      return;
    }
    if (message.type === 'loadRun') {
      const record = this.runRecord(message.run);
      if (record) {
        if (message.purpose === 'show') this.currentRun = record.name;
        this.post({
          type: 'runData',
          view: buildRunView(record, this.toUri),
          purpose: message.purpose,
        });
      }
      return;
    }
    this.host.handle(this.configPath, message);
  }
}

function pushNewest<T>(list: T[], item: T, max: number): void {
  list.unshift(item);
  if (list.length > max) list.length = max;
}
