/** The Log tab: the run's recent log lines, newest at the bottom. */
import { el, setText, show } from './dom';

export class LogView {
  readonly element: HTMLElement;
  private readonly empty = el('div', { class: 'empty-state' });
  private readonly lines = el('div', { class: 'log-view', attrs: { role: 'log' } });
  private shown: readonly string[] | null | undefined = undefined;

  constructor() {
    this.element = el('section', { class: 'log' }, this.empty, this.lines);
  }

  update(log: readonly string[] | null): void {
    if (log === this.shown) return;
    this.shown = log;
    show(this.empty, !log || log.length === 0);
    show(this.lines, Boolean(log && log.length > 0));
    setText(this.empty, log ? 'No log lines yet.' : 'No runs yet — Train starts one.');
    if (!log) return;
    const atBottom =
      this.lines.scrollHeight - this.lines.scrollTop - this.lines.clientHeight < 8 ||
      this.lines.childElementCount === 0;
    this.lines.replaceChildren(
      ...log.map((line) =>
        el('div', {
          class: `log-line${/\berror\b/i.test(line) ? ' is-error' : /\bwarn(ing)?\b/i.test(line) ? ' is-warn' : ''}`,
          text: line,
        }),
      ),
    );
    if (atBottom) this.lines.scrollTop = this.lines.scrollHeight;
  }
}
