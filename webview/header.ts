/**
 * The dashboard's header: config name, the run shown with its status, progress, backend and
 * speed, and the Train / Stop / Resume / Open log / Open config actions.
 */
import type { BackendInfo, RunStatus } from '../src/protocol/runnerEvents';
import type { DashboardState, WebviewToHost } from '../src/protocol/webviewMessages';
import { headerActions } from './dashboardModel';
import { el, flag, formatNumber, setText, show } from './dom';

const STATUS_CLASSES: readonly RunStatus[] = ['running', 'finished', 'failed', 'stopped'];

export function backendSummary(backend: BackendInfo): string {
  const parts: string[] = [backend.name];
  if (backend.tfBackend && backend.tfBackend !== backend.name) parts.push(`(${backend.tfBackend})`);
  if (backend.name === 'wasm') {
    parts.push(`· ${backend.threads} thread${backend.threads === 1 ? '' : 's'}`);
    if (backend.simd !== null) parts.push(backend.simd ? '· SIMD' : '· no SIMD');
  }
  const a = backend.adapter;
  if (a) {
    const named = [a.vendor, a.architecture, a.description].filter(Boolean).join(' · ');
    parts.push(`· ${named || 'unnamed adapter'}${a.software ? ' (software)' : ''}`);
  }
  return parts.join(' ');
}

/** Why faster backends were skipped, one line each ('' when none was). */
export function skippedBackends(backend: BackendInfo): string {
  return backend.attempts
    .filter((a) => !a.ok)
    .map((a) => `${a.name}: ${a.reason ?? 'unavailable'}`)
    .join('\n');
}

export class Header {
  readonly element: HTMLElement;
  private readonly configName = el('h1', { class: 'config-name' });
  private readonly runName = el('span', { class: 'run-name' });
  private readonly badge = el('vscode-badge', { class: 'status-badge' });
  private readonly progress = el('span', { class: 'run-step' });
  private readonly backend = el('span', { class: 'run-backend' });
  private readonly speed = el('span', { class: 'run-speed' });
  private readonly skipped = el('div', { class: 'backend-skipped' });
  private readonly message = el('div', { class: 'run-message' });
  private readonly trustNote = el('div', {
    class: 'trust-note',
    text: 'Training and generation are disabled: this workspace is not trusted (Restricted Mode).',
  });
  private readonly train = el('vscode-button', { class: 'btn-train', text: 'Train' });
  private readonly stop = el('vscode-button', { class: 'btn-stop', text: 'Stop' });
  private readonly resume = el('vscode-button', {
    class: 'btn-resume',
    text: 'Resume',
    attrs: { secondary: true },
  });
  private readonly openLog = el('vscode-button', {
    class: 'btn-open-log',
    text: 'Open log',
    attrs: { secondary: true },
  });
  private readonly openConfig = el('vscode-button', {
    class: 'btn-open-config',
    text: 'Open config',
    attrs: { secondary: true },
  });
  private readonly runLine: HTMLElement;
  private resumeRun: string | null = null;

  constructor(post: (message: WebviewToHost) => void) {
    this.runLine = el(
      'div',
      { class: 'run-line' },
      this.runName,
      this.badge,
      this.progress,
      this.backend,
      this.speed,
    );
    this.element = el(
      'header',
      { class: 'dash-header' },
      el(
        'div',
        { class: 'header-top' },
        this.configName,
        el(
          'div',
          { class: 'header-actions' },
          this.train,
          this.stop,
          this.resume,
          this.openLog,
          this.openConfig,
        ),
      ),
      this.runLine,
      this.skipped,
      this.message,
      this.trustNote,
    );
    const guarded = (button: HTMLElement, message: () => WebviewToHost | null) =>
      button.addEventListener('click', () => {
        if (button.hasAttribute('disabled')) return;
        const m = message();
        if (m) post(m);
      });
    guarded(this.train, () => ({ type: 'train' }));
    guarded(this.stop, () => ({ type: 'stop' }));
    guarded(this.resume, () => (this.resumeRun ? { type: 'resume', run: this.resumeRun } : null));
    guarded(this.openLog, () => ({ type: 'openLog' }));
    guarded(this.openConfig, () => ({ type: 'openConfig' }));
  }

  update(state: DashboardState | null, imagesPerSec: number | null): void {
    if (!state) {
      setText(this.configName, 'Loading…');
      for (const node of [this.runLine, this.skipped, this.message, this.trustNote]) {
        show(node, false);
      }
      for (const b of [this.train, this.stop, this.resume, this.openLog]) show(b, false);
      return;
    }
    setText(this.configName, state.configName);
    this.configName.title = state.configPath;

    const actions = headerActions(state);
    const current = state.current;
    show(this.train, actions.train);
    show(this.stop, actions.stop);
    show(this.resume, actions.resume);
    show(this.openLog, current !== null);
    for (const b of [this.train, this.stop, this.resume]) flag(b, 'disabled', !actions.enabled);
    show(this.trustNote, !state.trusted);
    this.resumeRun = actions.resume && current ? current.summary.name : null;

    show(this.runLine, current !== null);
    if (!current) {
      show(this.skipped, false);
      show(this.message, false);
      return;
    }
    const s = current.summary;
    setText(this.runName, s.name);
    this.runName.title = `model ${s.model}, started ${s.startedAt}`;
    setText(this.badge, s.status);
    for (const status of STATUS_CLASSES) {
      this.badge.classList.toggle(`status-${status}`, status === s.status);
    }
    const pct = s.totalSteps > 0 ? ` (${Math.floor((100 * s.step) / s.totalSteps)}%)` : '';
    setText(this.progress, `step ${formatNumber(s.step)} / ${formatNumber(s.totalSteps)}${pct}`);

    const backend = current.backend ?? null;
    const skipped = backend ? skippedBackends(backend) : '';
    setText(this.backend, backend ? backendSummary(backend) : (s.backend ?? 'backend: —'));
    this.backend.title = skipped ? `Skipped backends:\n${skipped}` : '';
    show(this.skipped, skipped !== '');
    setText(this.skipped, skipped ? `skipped ${skipped.split('\n').join('; ')}` : '');
    this.skipped.title = skipped;

    show(this.speed, imagesPerSec !== null);
    setText(this.speed, imagesPerSec !== null ? `${formatNumber(imagesPerSec, 1)} images/s` : '');

    show(this.message, Boolean(s.message));
    setText(this.message, s.message ?? '');
    this.message.classList.toggle('is-error', s.status === 'failed');
  }
}
