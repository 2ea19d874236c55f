/**
 * The Tags tab's list of tag suggestions for image files (IC-GAN: Suggest Tags in the Explorer),
 * newest first: per image its tags, best first, each with a bar for its share of the tagger's
 * votes. The bars are <meter> elements, which need no inline style (the CSP allows none).
 */
import type { SuggestedTagsView } from '../src/protocol/webviewMessages';
import { el, show } from './dom';

function tagRow(t: SuggestedTagsView['tags'][number]): HTMLElement {
  return el(
    'li',
    {
      class: 'suggested-tag',
      title: `${t.tag}: ${(t.score * 100).toFixed(0)}% of the votes, mean cosine ${t.similarity.toFixed(3)}`,
    },
    el('span', { class: 'suggested-tag-name', text: t.tag }),
    el('meter', {
      class: 'tag-score',
      attrs: { min: 0, max: 1, value: t.score, 'aria-label': `${t.tag} score` },
    }),
    el('span', { class: 'tag-score-value', text: t.score.toFixed(2) }),
  );
}

function describe(view: SuggestedTagsView): HTMLElement {
  const tagger = `${view.embedding} tagger${view.trained ? ', trained for this request' : ''}`;
  return el(
    'article',
    { class: 'suggested-tags' },
    el('h3', { class: 'suggested-image', text: view.image }),
    el('div', { class: 'suggested-meta', text: `${view.run} · ${tagger}` }),
    view.tags.length > 0
      ? el('ol', { class: 'suggested-tag-list' }, ...view.tags.map(tagRow))
      : el('div', { class: 'empty-state', text: 'The tagger suggested no tags.' }),
  );
}

export class SuggestedTagsList {
  readonly element: HTMLElement;
  private readonly empty = el('div', {
    class: 'empty-state',
    text:
      'No suggestions yet. Right-click an image in the Explorer and pick IC-GAN: Suggest Tags ' +
      '(IC-GAN runs on data with tags); the suggestions appear here.',
  });
  private readonly list = el('div', { class: 'suggested-list' });
  private readonly items = new WeakMap<SuggestedTagsView, HTMLElement>();
  private shown: readonly SuggestedTagsView[] | null = null;

  constructor() {
    this.element = el(
      'section',
      { class: 'suggestions' },
      el('h3', { text: 'Suggested tags' }),
      this.empty,
      this.list,
    );
  }

  /** Scrolls the newest suggestion into view (it may sit below a tag-sample grid). */
  revealNewest(): void {
    // A frame later: the tab that holds the list may have been selected only just now.
    requestAnimationFrame(() => {
      this.list.firstElementChild?.scrollIntoView({ block: 'nearest' });
    });
  }

  update(suggested: readonly SuggestedTagsView[]): void {
    if (suggested === this.shown) return;
    this.shown = suggested;
    show(this.empty, suggested.length === 0);
    this.list.replaceChildren(
      ...suggested.map((v) => {
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
