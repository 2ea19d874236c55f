import type * as vscode from 'vscode';
import type { DashboardPanel } from './dashboardPanel';
import type { RunnerOptions } from './runnerProcess';
import type { StudioSettings } from './settings';

/**
 * What trainings and one-shot jobs need from the extension's context (the Studio implements it):
 * declared apart so that they depend on it and the Studio on them, without a cycle.
 */
export interface StudioContext {
  readonly log: vscode.LogOutputChannel;
  readonly dashboards: ReadonlyMap<string, DashboardPanel>;
  readonly runnerPath: string;
  /** Training and model loading run code paths on workspace files: only in a trusted workspace. */
  requireTrust(action: string): boolean;
  showDashboard(configPath: string, preserveFocus?: boolean): DashboardPanel;
  openConfigAt(configPath: string, field?: string): Promise<void>;
  /** The extension's settings as they apply to a config. */
  settingsFor(configPath: string): StudioSettings;
  /** How to start a runner for a job on a config, with that config's settings. */
  runnerOptions(configPath: string): RunnerOptions;
  runsDirOf(configPath: string): string;
  /** The folders a config may read and write. */
  workspaceRoots(configPath: string): string[];
}
