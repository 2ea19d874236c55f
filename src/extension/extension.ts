import * as vscode from 'vscode';
import { registerCommands } from './commands';
import { Studio } from './studio';

/**
 * Entry point of the extension host side. It only wires the Studio and the command table:
 * TensorFlow is never imported here (esbuild.js fails the build if the bundle contains it), so
 * activation stays fast and a crashing training can't take the editor down.
 */
let studio: Studio | undefined;

export function activate(context: vscode.ExtensionContext): { studio: Studio } {
  const started = performance.now();
  studio = new Studio(context);
  context.subscriptions.push(studio, ...registerCommands(studio));
  // esbuild's banner stamps the time the bundle began to load (see esbuild.js).
  const loadStart = (globalThis as { __icganLoadStart?: number }).__icganLoadStart ?? started;
  studio.log.info(
    `activated in ${(performance.now() - started).toFixed(1)} ms (bundle loaded in ${(started - loadStart).toFixed(1)} ms)`,
  );
  return { studio };
}

export async function deactivate(): Promise<void> {
  await studio?.shutdown();
  studio = undefined;
}
