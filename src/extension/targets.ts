import * as path from 'node:path';
import * as vscode from 'vscode';
import { CONFIG_GLOB, CONFIG_SUFFIX, isConfigPath } from '../core/config/configName';

/**
 * Which config or image a command acts on: the explorer/editor-title argument, a path from a
 * hover's command link, the active editor, or a quick pick.
 */

const EXCLUDE = '**/{node_modules,runs,.git}/**';

function argPath(arg: unknown): string | undefined {
  if (arg instanceof vscode.Uri) return arg.scheme === 'file' ? arg.fsPath : undefined;
  if (typeof arg === 'string') return arg;
  return undefined;
}

export async function pickConfig(arg: unknown, placeHolder: string): Promise<string | undefined> {
  const given = argPath(arg);
  if (given && isConfigPath(given)) return path.resolve(given);
  const active = vscode.window.activeTextEditor?.document.uri;
  if (active?.scheme === 'file' && isConfigPath(active.fsPath)) return active.fsPath;
  const found = (await vscode.workspace.findFiles(CONFIG_GLOB, EXCLUDE, 200)).map((u) => u.fsPath);
  if (found.length === 0) {
    const choice = await vscode.window.showWarningMessage(
      `IC-GAN: there is no *${CONFIG_SUFFIX} config in this workspace.`,
      'New Config',
    );
    if (choice) await vscode.commands.executeCommand('icgan.newConfig');
    return undefined;
  }
  if (found.length === 1) return found[0];
  const picked = await vscode.window.showQuickPick(
    found.sort().map((p) => ({
      label: path.basename(p),
      description: vscode.workspace.asRelativePath(path.dirname(p)),
      path: p,
    })),
    { placeHolder },
  );
  return picked?.path;
}

export async function workspaceConfigs(): Promise<string[]> {
  return (await vscode.workspace.findFiles(CONFIG_GLOB, EXCLUDE, 500)).map((u) => u.fsPath);
}

export function argImagePath(arg: unknown): string | undefined {
  const p = argPath(arg);
  return p && /\.(png|jpe?g|webp)$/i.test(p) ? p : undefined;
}
