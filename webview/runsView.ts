/** The Runs tab: every run of this config; a click shows that run's data. */
import type { RunSummary } from '../src/protocol/webviewMessages';
import { el, formatNumber, formatTime, show } from './dom';

export class RunsView {
  readonly element: HTMLElement;
  private readonly empty = el('div', {
    class: 'empty-state',
    text: 'No runs yet — Train starts one.',
  });
  private readonly body = el('tbody');
  private readonly table: HTMLTableElement;
  private shown: { runs: readonly RunSummary[]; current: string | null; compare: string | null } = {
    runs: [],
    current: null,
    compare: null,
  };

  constructor(onShow: (run: string) => void) {
    const headings = ['Run', 'Status', 'Model', 'Step', 'Backend', 'Updated'];
    this.table = el(
      'table',
      { class: 'runs-table' },
      el(
        'thead',
        {},
        el('tr', {}, ...headings.map((h) => el('th', { text: h, attrs: { scope: 'col' } }))),
      ),
      this.body,
    );
    this.element = el(
      'section',
      { class: 'runs' },
      this.empty,
      this.table,
      el('p', {
        class: 'hint',
        text: 'Click a run to show it. Compare curves with the “Compare with” list on the Losses tab.',
      }),
    );
    const pick = (target: EventTarget | null) => {
      const row = target instanceof Element ? target.closest('tr.run-row') : null;
      const name = row?.getAttribute('data-run');
      if (name) onShow(name);
    };
    this.body.addEventListener('click', (e) => pick(e.target));
    this.body.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        pick(e.target);
      }
    });
  }

  update(runs: readonly RunSummary[], current: string | null, compare: string | null): void {
    const s = this.shown;
    if (s.runs === runs && s.current === current && s.compare === compare) return;
    this.shown = { runs, current, compare };
    show(this.empty, runs.length === 0);
    show(this.table, runs.length > 0);
    this.body.replaceChildren(
      ...runs.map((r) => {
        const classes = ['run-row'];
        if (r.name === current) classes.push('is-current');
        if (r.name === compare) classes.push('is-compare');
        const status = el('span', { class: `run-status status-${r.status}`, text: r.status });
        const row = el(
          'tr',
          {
            class: classes.join(' '),
            attrs: { 'data-run': r.name, tabindex: 0, 'aria-selected': String(r.name === current) },
            title: r.message ?? '',
          },
          el('td', { text: r.name }),
          el('td', {}, status),
          el('td', { text: r.model }),
          el('td', { text: `${formatNumber(r.step)} / ${formatNumber(r.totalSteps)}` }),
          el('td', { text: r.backend ?? '—' }),
          el('td', { text: formatTime(r.updatedAt) }),
        );
        return row;
      }),
    );
  }
}
