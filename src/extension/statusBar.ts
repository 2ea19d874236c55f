import * as vscode from 'vscode';
import type { StepEvent } from '../protocol/runnerEvents';
import { formatDuration } from './training';

/** One status-bar item for the trainings in progress: the latest step; a click opens its dashboard. */
export class TrainingStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem(
    'icgan.training',
    vscode.StatusBarAlignment.Left,
    10,
  );

  constructor() {
    this.item.name = 'IC-GAN Training';
  }

  update(trainings: { name: string; configPath: string; step?: StepEvent }[]): void {
    const latest = trainings[trainings.length - 1];
    if (!latest) {
      this.item.hide();
      return;
    }
    const s = latest.step;
    const more = trainings.length > 1 ? ` (+${trainings.length - 1})` : '';
    this.item.text = s
      ? `$(pulse) ${latest.name} ${s.step}/${s.totalSteps} D ${s.dLoss.toFixed(2)} G ${s.gLoss.toFixed(2)}` +
        (s.etaSeconds > 0 ? ` ETA ${formatDuration(s.etaSeconds)}` : '') +
        more
      : `$(loading~spin) ${latest.name} starting…${more}`;
    this.item.tooltip = `IC-GAN: ${trainings.map((t) => t.name).join(', ')} training — click for the dashboard`;
    this.item.command = {
      title: 'Open Dashboard',
      command: 'icgan.openDashboard',
      arguments: [latest.configPath],
    };
    this.item.show();
  }

  dispose(): void {
    this.item.dispose();
  }
}
