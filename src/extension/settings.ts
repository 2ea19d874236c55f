import * as vscode from 'vscode';
import type { BackendName } from '../protocol/runnerEvents';

/** The extension's settings (package.json `contributes.configuration`), read at the time of use. */
export interface StudioSettings {
  backend: BackendName | 'auto';
  /** Overrides every config's `runsDir` when set (relative to the config's folder). */
  runsDir: string;
  /** Node executable for the runner; empty: the extension host's own. */
  nodePath: string;
  /** Seconds a runner gets to checkpoint and exit after Stop before it is killed. */
  stopTimeoutSeconds: number;
  /** Let configs read data and write runs outside the workspace folders. */
  allowPathsOutsideWorkspace: boolean;
}

export function readSettings(scope?: vscode.Uri): StudioSettings {
  const c = vscode.workspace.getConfiguration('icgan', scope);
  return {
    backend: c.get<BackendName | 'auto'>('backend', 'auto'),
    runsDir: c.get<string>('runsDir', '').trim(),
    nodePath: c.get<string>('nodePath', '').trim(),
    stopTimeoutSeconds: c.get<number>('stopTimeoutSeconds', 60),
    allowPathsOutsideWorkspace: c.get<boolean>('allowPathsOutsideWorkspace', false),
  };
}
