import * as path from 'node:path';
import * as vscode from 'vscode';
import { newConfig } from './newConfig';
import type { Studio } from './studio';
import { argImagePath, pickConfig } from './targets';

/**
 * Every command of the extension, as one table of factories: each takes the Studio and returns
 * the handler VS Code calls (with the explorer/editor-title URI or a hover link's path, if any).
 */
type CommandFactory = (studio: Studio) => (...args: unknown[]) => unknown;

export const COMMANDS: Record<string, CommandFactory> = {
  'icgan.train': (studio) => async (arg) => {
    const config = await pickConfig(arg, 'Train which config?');
    if (config) await studio.trainings.train(config);
  },

  'icgan.stop': (studio) => async (arg) => {
    const running = studio.trainings.configs();
    let config =
      typeof arg === 'string' || arg instanceof vscode.Uri ? await pickConfig(arg, '') : undefined;
    if (!config && running.length === 1) config = running[0];
    if (!config && running.length > 1) {
      config = (
        await vscode.window.showQuickPick(
          running.map((p) => ({ label: path.basename(p), p })),
          { placeHolder: 'Stop which training?' },
        )
      )?.p;
    }
    if (!config) {
      if (running.length === 0)
        void vscode.window.showInformationMessage('IC-GAN: nothing is training.');
      return;
    }
    await studio.trainings.stop(config);
  },

  'icgan.resume': (studio) => async (arg) => {
    const config = await pickConfig(arg, 'Resume a run of which config?');
    if (!config) return;
    const runs = studio.trainings.resumableRuns(config);
    if (runs.length === 0) {
      void vscode.window.showInformationMessage(
        `IC-GAN: ${path.basename(config)} has no stopped or failed run with a checkpoint to resume.`,
      );
      return;
    }
    const run =
      runs.length === 1
        ? runs[0]
        : (
            await vscode.window.showQuickPick(
              runs.map((r) => ({
                label: r.name,
                description: `${r.info.status} · step ${r.info.step}/${r.info.totalSteps}`,
                r,
              })),
              { placeHolder: 'Resume which run? (newest first)' },
            )
          )?.r;
    if (run) await studio.trainings.train(config, run.dir);
  },

  'icgan.openDashboard': (studio) => async (arg) => {
    const config = await pickConfig(arg, 'Open the dashboard of which config?');
    if (config) studio.showDashboard(config);
  },

  'icgan.generateFromImage': (studio) => async (arg) => {
    const image = await pickImage(arg, 'Generate from this image');
    if (image) await studio.jobs.generateFromImage(image);
  },

  'icgan.suggestTags': (studio) => async (arg) => {
    const image = await pickImage(arg, 'Suggest tags for this image');
    if (image) await studio.jobs.suggestTags(image);
  },

  'icgan.newConfig': (studio) => (arg) => newConfig(studio.extensionUri, arg),

  'icgan.showLog': (studio) => () => studio.log.show(),
};

/** The explorer's image, else one from an open dialog (palette). */
async function pickImage(arg: unknown, openLabel: string): Promise<string | undefined> {
  const image = argImagePath(arg);
  if (image) return image;
  const picked = await vscode.window.showOpenDialog({
    canSelectMany: false,
    filters: { Images: ['png', 'jpg', 'jpeg', 'webp'] },
    openLabel,
  });
  return picked?.[0]?.fsPath;
}

export function registerCommands(studio: Studio): vscode.Disposable[] {
  return Object.entries(COMMANDS).map(([id, factory]) =>
    vscode.commands.registerCommand(id, factory(studio)),
  );
}
