import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { configName } from '../core/config/configName';
import { lastEventOfType } from '../core/run/eventTail';
import { RUN_FILES } from '../core/run/runFolder';
import { listRuns, runsDirOfConfig } from '../core/run/runIndex';
import { isOnTopLevelKey } from './configText';
import { readSettings } from './settings';

/** Grids larger than this are not inlined into a hover (they'd make it slow to open). */
const MAX_PREVIEW_BYTES = 512 * 1024;

function commandLink(title: string, command: string, configPath: string): string {
  const args = encodeURIComponent(JSON.stringify([configPath]));
  return `[${title}](command:${command}?${args})`;
}

/**
 * Hovering a top-level key of a `*.icgan.json` previews the latest sample grid of the config's
 * newest run, from the files on disk: no model loads, nothing starts.
 */
export function previewMarkdown(configPath: string, training: boolean): vscode.MarkdownString {
  const md = new vscode.MarkdownString(undefined, true);
  md.supportHtml = true;
  md.isTrusted = { enabledCommands: ['icgan.openDashboard', 'icgan.train'] };
  const name = configName(configPath);
  const runs = listRuns(
    runsDirOfConfig(configPath, readSettings(vscode.Uri.file(configPath)).runsDir),
    configPath,
  );
  const run = runs[0];
  const links = [
    commandLink('Open Dashboard', 'icgan.openDashboard', configPath),
    ...(training ? [] : [commandLink('Train', 'icgan.train', configPath)]),
  ].join(' · ');
  if (!run) {
    md.appendMarkdown(`**IC-GAN · ${name}** — no runs yet.\n\n${links}`);
    return md;
  }
  const info = run.info;
  const step = lastEventOfType(path.join(run.dir, RUN_FILES.events), 'step');
  const losses = step ? ` · D ${step.dLoss.toFixed(3)} · G ${step.gLoss.toFixed(3)}` : '';
  md.appendMarkdown(
    `**IC-GAN · ${name}** — \`${run.name}\` · ${info.status} · step ${info.step}/${info.totalSteps}${losses} · ${info.backend ?? 'no backend'}\n\n`,
  );
  const latest = path.join(run.dir, RUN_FILES.latestSample);
  let png: Buffer | undefined;
  try {
    if (fs.statSync(latest).size <= MAX_PREVIEW_BYTES) png = fs.readFileSync(latest);
  } catch {
    png = undefined;
  }
  if (png) {
    // A data URI works locally, remotely and in the browser alike (a file: URI doesn't).
    md.appendMarkdown(
      `<img class="icgan-preview" src="data:image/png;base64,${png.toString('base64')}" width="256" alt="latest samples of ${run.name}">\n\n`,
    );
  } else {
    md.appendMarkdown('*No samples yet.*\n\n');
  }
  md.appendMarkdown(links);
  return md;
}

export class ConfigHoverProvider implements vscode.HoverProvider {
  constructor(private readonly isTraining: (configPath: string) => boolean) {}

  provideHover(document: vscode.TextDocument, position: vscode.Position): vscode.Hover | null {
    if (document.uri.scheme !== 'file') return null;
    const offset = document.offsetAt(position);
    if (position.line !== 0 && !isOnTopLevelKey(document.getText(), offset)) return null;
    const configPath = document.uri.fsPath;
    return new vscode.Hover(previewMarkdown(configPath, this.isTraining(configPath)));
  }
}
