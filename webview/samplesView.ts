/** The Samples tab: the latest sample grid, with a slider back through earlier ones. */
import type { DiversityView, SampleGrid } from '../src/protocol/webviewMessages';
import { diversitySummary } from './varietyText';
import { el, formatNumber, setText, show } from './dom';

/** Index of the grid to show: the one at `step`, else the latest. */
export function sampleIndex(samples: readonly SampleGrid[], step: number | null): number {
  if (samples.length === 0) return -1;
  if (step === null) return samples.length - 1;
  const index = samples.findIndex((s) => s.step === step);
  return index >= 0 ? index : samples.length - 1;
}

export class SamplesView {
  readonly element: HTMLElement;
  private readonly empty = el('div', { class: 'empty-state' });
  private readonly slider = el('input', {
    class: 'sample-slider',
    attrs: { type: 'range', min: 0, max: 0, step: 1, 'aria-label': 'Sample grid' },
  });
  private readonly label = el('span', { class: 'sample-step' });
  private readonly image = el('img', { class: 'sample-grid', attrs: { alt: 'Sample grid' } });
  private readonly variety = el('div', { class: 'sample-variety', attrs: { role: 'status' } });
  private readonly body: HTMLElement;
  private samples: readonly SampleGrid[] = [];

  /** `onPick(step)`: the user moved the slider (null = back at the latest grid). */
  constructor(onPick: (step: number | null) => void) {
    this.body = el(
      'div',
      { class: 'samples-body' },
      el('div', { class: 'samples-toolbar' }, this.slider, this.label),
      this.variety,
      el('div', { class: 'sample-frame' }, this.image),
    );
    this.element = el('section', { class: 'samples' }, this.empty, this.body);
    this.slider.addEventListener('input', () => {
      const index = Number(this.slider.value);
      const grid = this.samples[index];
      if (!grid) return;
      onPick(index === this.samples.length - 1 ? null : grid.step);
    });
  }

  update(
    samples: readonly SampleGrid[] | null,
    step: number | null,
    diversity: DiversityView | null = null,
  ): void {
    const summary = diversitySummary(diversity);
    setText(this.variety, summary.text);
    this.variety.classList.toggle('warning', summary.warn);
    show(this.variety, summary.text !== '');
    this.samples = samples ?? [];
    const index = sampleIndex(this.samples, step);
    const grid = this.samples[index];
    show(this.empty, !grid);
    show(this.body, Boolean(grid));
    setText(
      this.empty,
      samples === null
        ? 'No runs yet — Train starts one.'
        : 'No samples yet — the first grid appears after the first sampling interval.',
    );
    if (!grid) return;
    const max = String(this.samples.length - 1);
    if (this.slider.max !== max) this.slider.max = max;
    if (this.slider.value !== String(index)) this.slider.value = String(index);
    this.slider.disabled = this.samples.length < 2;
    setText(
      this.label,
      `step ${formatNumber(grid.step)} · ${grid.count} images (${index + 1} of ${this.samples.length})`,
    );
    if (this.image.getAttribute('src') !== grid.uri) this.image.src = grid.uri;
    this.image.alt = `Samples at step ${grid.step}`;
  }
}
