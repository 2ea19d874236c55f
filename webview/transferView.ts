/**
 * The Generated tab: images generated from image files (started from the Explorer, so without a
 * requestId), newest first: the grid (its first cell is the source image), the source's nearest
 * training instances, and how close the generated images stayed to the source.
 */
import type { GeneratedView } from '../src/protocol/webviewMessages';
import { meanSimilarity, transferViews } from './dashboardModel';
import { baseName, el, show } from './dom';

function describe(view: GeneratedView): HTMLElement {
  const source =
    'image' in view.source ? baseName(view.source.image) : `instance #${view.source.instance}`;
  const mean = meanSimilarity(view.similarities);
  const facts: [string, string][] = [
    ['run', view.run],
    ['nearest instance', view.nearestInstance !== undefined ? `#${view.nearestInstance}` : '—'],
    ['class', view.className ?? '—'],
    ['mean similarity', mean !== null ? mean.toFixed(3) : '—'],
    ['seed', String(view.seed)],
    ['truncation', String(view.truncation)],
  ];
  const title = el('h3', { class: 'transfer-source', text: source });
  if ('image' in view.source) title.title = view.source.image;
  return el(
    'article',
    { class: 'transfer-item' },
    title,
    el(
      'div',
      { class: 'generated-frame' },
      el('img', {
        class: 'generated-grid',
        attrs: { src: view.gridUri, alt: `Generated from ${source} (first image: the source)` },
      }),
    ),
    view.neighboursUri
      ? el(
          'div',
          { class: 'neighbours-frame' },
          el('div', { class: 'field-label', text: 'source, then its nearest training instances' }),
          el('img', {
            class: 'neighbours-strip',
            attrs: { src: view.neighboursUri, alt: `Nearest training instances of ${source}` },
          }),
        )
      : null,
    el(
      'dl',
      { class: 'transfer-facts' },
      ...facts.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', { text: v })]),
    ),
  );
}

export class TransferView {
  readonly element: HTMLElement;
  private readonly empty = el('div', {
    class: 'empty-state',
    text:
      'Nothing generated from image files yet. Start a generation from an image in the Explorer ' +
      '(IC-GAN runs); it appears here.',
  });
  private readonly list = el('div', { class: 'transfer-list' });
  private readonly items = new WeakMap<GeneratedView, HTMLElement>();
  private shown: readonly GeneratedView[] | null = null;

  constructor() {
    this.element = el('section', { class: 'transfers' }, this.empty, this.list);
  }

  update(generated: readonly GeneratedView[]): void {
    if (generated === this.shown) return;
    this.shown = generated;
    const views = transferViews(generated);
    show(this.empty, views.length === 0);
    this.list.replaceChildren(
      ...views.map((v) => {
        let item = this.items.get(v);
        if (!item) {
          item = describe(v);
          this.items.set(v, item);
        }
        return item;
      }),
    );
  }
}
