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
  /** Threads of the WASM backend; 0 = one per core. */
  wasmThreads: number;
}

/** The runner's environment for these settings (the engine reads ICGAN_WASM_THREADS). */
export function runnerEnv(s: StudioSettings): NodeJS.ProcessEnv {
  return s.wasmThreads > 0 ? { ICGAN_WASM_THREADS: String(s.wasmThreads) } : {};
}

export function readSettings(scope?: vscode.Uri): StudioSettings {
  const c = vscode.workspace.getConfiguration('icgan', scope);
  return {
    backend: c.get<BackendName | 'auto'>('backend', 'auto'),
    runsDir: c.get<string>('runsDir', '').trim(),
    nodePath: c.get<string>('nodePath', '').trim(),
    stopTimeoutSeconds: c.get<number>('stopTimeoutSeconds', 60),
    allowPathsOutsideWorkspace: c.get<boolean>('allowPathsOutsideWorkspace', false),
    wasmThreads: Math.max(0, Math.floor(c.get<number>('wasmThreads', 0))),
  };
}
