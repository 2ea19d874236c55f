import { randomInt } from 'node:crypto';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { needsInstances } from '../core/models/modelCapabilities';
import { RUN_FILES } from '../core/run/runFolder';
import { listRuns, type RunRecord } from '../core/run/runIndex';
import type { GenerateOutput, JobOutputOf, RunnerJobs } from '../protocol/runnerCommands';
import type { GeneratedView, WebviewToHost } from '../protocol/webviewMessages';
import type { DashboardPanel } from './dashboardPanel';
import { logRunEvent } from './outputLog';
import { runJob } from './runnerProcess';
import type { StudioContext } from './studioContext';
import { workspaceConfigs } from './targets';

/** Tags the tagger lists per image (the dashboard shows them all). */
const SUGGESTED_TAGS = 10;
/** Of those, the ones the notification names and Copy Tags copies. */
const NOTIFIED_TAGS = 5;

type InstanceRun = { run: RunRecord; configPath: string };

/** The jobs on a run that answer once. */
type OneShotCommand = RunnerJobs['sample' | 'generate' | 'tag']['command'];

/** One request for a one-shot job, as `runOneShot` carries it out. */
interface OneShot<C extends OneShotCommand> {
  /** What it does, for the log and messages: "generating from cat.png with run-3". */
  what: string;
  /** What the trust message calls it: "generation". */
  action: string;
  /** The config whose settings (backend, Node, threads) apply. */
  configPath: string;
  command: C;
  /** A progress notification with this title (commands); dashboard requests show their own. */
  progressTitle?: string;
  /** Where a failure goes: the dashboard's request (which shows it); else an error notification. */
  onFailure?: (message: string) => void;
}

/**
 * The jobs that answer once: generation (from a training instance or an image), tag-conditioned
 * sample grids and tag suggestions. Each is a command for the runner and what to do with its
 * output; trust, progress, the log and errors are `runOneShot`'s.
 */
export class OneShotJobs {
  constructor(private readonly studio: StudioContext) {}

  /**
   * Runs one job: checks trust, shows progress (the runner's log lines), logs, reports a failure.
   * Undefined when it did not run or failed (already reported).
   */
  private async runOneShot<C extends OneShotCommand>(
    job: OneShot<C>,
  ): Promise<JobOutputOf<C> | undefined> {
    const { studio } = this;
    const fail = async (message: string): Promise<undefined> => {
      studio.log.error(`${job.what}: ${message}`);
      if (job.onFailure) {
        job.onFailure(message);
        return undefined;
      }
      const c = await vscode.window.showErrorMessage(
        `IC-GAN: ${job.what} failed: ${message}`,
        'Open Log',
      );
      if (c) studio.log.show();
      return undefined;
    };
    if (!studio.requireTrust(job.action)) return fail('untrusted workspace');
    const run = (report?: (message: string) => void): Promise<JobOutputOf<C>> =>
      runJob(job.command, {
        ...studio.runnerOptions(job.configPath),
        onEvent: (e) => {
          logRunEvent(studio.log, e, path.basename(job.command.runDir));
          if (e.type === 'log') report?.(e.message);
        },
      });
    try {
      const title = job.progressTitle;
      return title
        ? await vscode.window.withProgress(
            { location: vscode.ProgressLocation.Notification, title },
            (progress) => run((message) => progress.report({ message })),
          )
        : await run();
    } catch (err) {
      return fail((err as Error).message);
    }
  }

  /** A dashboard's request: images from one of its run's training instances (the gallery). */
  async generateFromInstance(
    configPath: string,
    m: Extract<WebviewToHost, { type: 'generate' }>,
  ): Promise<void> {
    const dash = this.studio.dashboards.get(configPath);
    const run = dash?.runRecord(m.run);
    if (!dash || !run) return;
    const output = await this.runOneShot({
      what: `generating from instance ${m.instance} of ${run.name}`,
      action: 'generation',
      configPath,
      command: {
        type: 'generate',
        runDir: run.dir,
        source: { instance: m.instance },
        count: m.count,
        candidates: Math.max(m.count, m.count * 4),
        truncation: m.truncation,
        seed: m.seed,
        ...(m.className ? { className: m.className } : {}),
        backend: this.studio.settingsFor(configPath).backend,
      },
      onFailure: (message) => dash.requestFailed(m.requestId, message),
    });
    if (output) {
      dash.addGenerated(
        generatedView(dash, run.name, output, { instance: m.instance }, m, m.requestId),
      );
    }
  }

  /** Instance transfer from an image in the explorer: the paper's headline use. */
  async generateFromImage(imagePath: string): Promise<void> {
    if (!this.studio.requireTrust('generation')) return;
    const name = path.basename(imagePath);
    const chosen = await this.pickInstanceRun(`Generate from ${name} with which run?`);
    if (!chosen) return;
    const { run, configPath } = chosen;
    const opts = { seed: randomInt(2 ** 31 - 1), truncation: 1, count: 16 };
    const output = await this.runOneShot({
      what: `generating from ${name} with ${run.name}`,
      action: 'generation',
      configPath,
      progressTitle: `IC-GAN: generating from ${name} with ${run.name}`,
      command: {
        type: 'generate',
        runDir: run.dir,
        source: { image: imagePath },
        count: opts.count,
        candidates: 160,
        truncation: opts.truncation,
        seed: opts.seed,
        neighbours: 5,
        backend: this.studio.settingsFor(configPath).backend,
      },
    });
    if (!output) return;
    this.studio.log.info(
      `generated ${output.files.length} images from ${imagePath} in ${output.outDir}`,
    );
    const dash = this.studio.showDashboard(configPath);
    dash.addGenerated(generatedView(dash, run.name, output, { image: name }, opts));
  }

  /** A grid from a tags-conditioned run in which every image has the tags the dashboard picked. */
  async sampleFromTags(
    configPath: string,
    m: Extract<WebviewToHost, { type: 'sampleTags' }>,
  ): Promise<void> {
    const dash = this.studio.dashboards.get(configPath);
    if (!dash) return;
    const run = dash.runRecord(m.run);
    if (!run) {
      dash.requestFailed(m.requestId, `${m.run} is not a run of this config`);
      return;
    }
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const output = await this.runOneShot({
      what: `sampling ${m.tags.join(', ')} from ${run.name}`,
      action: 'generation',
      configPath,
      command: {
        type: 'sample',
        runDir: run.dir,
        count: m.count,
        tags: m.tags,
        truncation: m.truncation,
        seed: m.seed,
        // Under the run folder, so the webview may load it (localResourceRoots).
        out: path.join(run.dir, RUN_FILES.samples, `tags-${stamp}.png`),
        backend: this.studio.settingsFor(configPath).backend,
      },
      onFailure: (message) => dash.requestFailed(m.requestId, message),
    });
    if (!output) return;
    dash.addTagSamples({
      requestId: m.requestId,
      run: run.name,
      tags: m.tags,
      uri: dash.toUri(output.file),
      count: output.count,
      columns: output.columns,
    });
  }

  /** Image → tags with an IC-GAN run's tagger (trained by the runner on the run's first request). */
  async suggestTags(imagePath: string): Promise<void> {
    if (!this.studio.requireTrust('tag suggestion')) return;
    const name = path.basename(imagePath);
    const chosen = await this.pickInstanceRun(`Suggest tags for ${name} with which run?`);
    if (!chosen) return;
    const { run, configPath } = chosen;
    const output = await this.runOneShot({
      what: `suggesting tags for ${name} with ${run.name}`,
      action: 'tag suggestion',
      configPath,
      progressTitle: `IC-GAN: suggesting tags for ${name} with ${run.name} (the first request on a run trains its tagger: a minute or more)`,
      command: {
        type: 'tag',
        runDir: run.dir,
        images: [imagePath],
        top: SUGGESTED_TAGS,
        // Fixed, as the CLI's default: the same image gets the same suggestions.
        seed: 0,
        backend: this.studio.settingsFor(configPath).backend,
      },
    });
    if (!output) return;
    const tags = output.images[0]?.tags ?? [];
    this.studio.log.info(
      `tags for ${imagePath} from ${run.name}${output.trained ? ' (tagger trained now)' : ''}: ` +
        tags.map((t) => `${t.tag} ${t.score.toFixed(2)}`).join(', '),
    );
    this.studio.showDashboard(configPath).addSuggestedTags({
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
      for (const run of listRuns(this.studio.runsDirOf(configPath), configPath)) {
        if (run.hasCheckpoint && needsInstances(run.info.model)) out.push({ run, configPath });
      }
    }
    return out.sort((a, b) => b.run.info.updatedAt.localeCompare(a.run.info.updatedAt));
  }
}

function generatedView(
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
