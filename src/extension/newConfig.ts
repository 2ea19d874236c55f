import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { CONFIG_SUFFIX, configName } from '../core/config/configName';

/** "IC-GAN: New Config": a config from one of the shipped examples, saved in the workspace. */

const TEMPLATES = [
  {
    file: 'shapes-icgan.icgan.json',
    label: 'IC-GAN on shapes',
    detail: 'instance-conditioned, self-supervised features, offline data',
  },
  {
    file: 'shapes-icgan-class.icgan.json',
    label: 'Class-conditional IC-GAN on shapes',
    detail: 'instance features and a swappable class',
  },
  {
    file: 'shapes-cgan.icgan.json',
    label: 'cGAN on shapes',
    detail: 'class-conditional DCGAN-style model with a projection discriminator',
  },
  {
    file: 'shapes-icgan-tags.icgan.json',
    label: 'IC-GAN with tags on shapes',
    detail: 'instance plus swappable tags (shape, colour, size, position); Suggest Tags',
  },
  {
    file: 'shapes-cgan-tags.icgan.json',
    label: 'cGAN conditioned on tags',
    detail: 'generate any set of tags, e.g. red + circle',
  },
  { file: 'shapes-dcgan.icgan.json', label: 'DCGAN on shapes', detail: 'unconditional baseline' },
  {
    file: 'shapes-cgan-mlp.icgan.json',
    label: 'cGAN (MLP, the 2014 paper)',
    detail: 'maxout discriminator, joint hidden layer',
  },
] as const;

export async function newConfig(extensionUri: vscode.Uri, folderArg?: unknown): Promise<void> {
  const folder =
    folderArg instanceof vscode.Uri && fs.existsSync(folderArg.fsPath)
      ? fs.statSync(folderArg.fsPath).isDirectory()
        ? folderArg.fsPath
        : path.dirname(folderArg.fsPath)
      : vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  if (!folder) {
    void vscode.window.showErrorMessage(
      'IC-GAN: open a folder first; configs live in a workspace.',
    );
    return;
  }
  const template = await vscode.window.showQuickPick(
    TEMPLATES.map((t) => ({ ...t })),
    { placeHolder: 'Start from which model?' },
  );
  if (!template) return;
  const name = await vscode.window.showInputBox({
    prompt: `Config name (the file will be <name>${CONFIG_SUFFIX})`,
    value: configName(template.file),
    validateInput: (v) =>
      /^[\w.-]+$/.test(v)
        ? fs.existsSync(path.join(folder, `${v}${CONFIG_SUFFIX}`))
          ? `${v}${CONFIG_SUFFIX} already exists`
          : undefined
        : 'letters, digits, dot, dash and underscore only',
  });
  if (!name) return;
  const source = vscode.Uri.joinPath(extensionUri, 'examples', template.file).fsPath;
  const config = JSON.parse(fs.readFileSync(source, 'utf8')) as Record<string, unknown>;
  // The extension validates *.icgan.json files itself (jsonValidation); a relative $schema from
  // the examples folder would point nowhere in the user's workspace.
  delete config.$schema;
  config.name = name;
  const target = path.join(folder, `${name}${CONFIG_SUFFIX}`);
  fs.writeFileSync(target, `${JSON.stringify(config, null, 2)}\n`, { flag: 'wx' });
  await vscode.window.showTextDocument(vscode.Uri.file(target));
}
