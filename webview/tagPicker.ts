/**
 * The Tags tab's sampler, for runs conditioned on tags: pick tags from the run's vocabulary and
 * get a grid in which every image has exactly those tags, with a chosen seed, truncation and
 * count. Each Generate replaces the grid shown; the previous few stay below it.
 */
import type { RunView, TagSamplesView } from '../src/protocol/webviewMessages';
import { pickableTags, type PendingTagSamples } from './dashboardModel';
import { el, setText, show } from './dom';
import { field, SampleControls, showGenerateStatus, type SampleSettings } from './sampleControls';
import type { UiState } from './uiState';

export interface TagSampleRequest {
  tags: string[];
  seed: number;
  truncation: number;
  count: number;
}

export interface TagPickerCallbacks {
  /** A setting changed (only valid values are passed). */
  settings(
    patch: Partial<Pick<UiState, 'pickedTags' | 'tagSeed' | 'tagTruncation' | 'tagCount'>>,
  ): void;
  generate(request: TagSampleRequest): void;
}

export interface TagPickerProps {
  view: RunView | null;
  trusted: boolean;
  ui: UiState;
  pending: PendingTagSamples | null;
  error: string | null;
  /** The current run's grids, newest first. */
  samples: readonly TagSamplesView[];
}

const describeTags = (tags: readonly string[]): string => tags.join(' + ');

/** The Tags tab keeps its own seed, truncation and count, apart from the gallery's. */
function tagSettings(
  patch: Partial<SampleSettings>,
): Partial<Pick<UiState, 'tagSeed' | 'tagTruncation' | 'tagCount'>> {
  return {
    ...(patch.seed !== undefined ? { tagSeed: patch.seed } : {}),
    ...(patch.truncation !== undefined ? { tagTruncation: patch.truncation } : {}),
    ...(patch.count !== undefined ? { tagCount: patch.count } : {}),
  };
}

function historyItem(view: TagSamplesView): HTMLElement {
  const tags = describeTags(view.tags);
  return el(
    'figure',
    { class: 'tag-history-item', title: `${tags} · ${view.count} images` },
    el('img', {
      class: 'tag-history-grid',
      attrs: { src: view.uri, alt: `Earlier samples with ${tags}` },
    }),
    el('figcaption', { text: tags }),
  );
}

export class TagPicker {
  readonly element: HTMLElement;
  private readonly empty = el('div', { class: 'empty-state' });
  private readonly body: HTMLElement;
  private readonly select = el('vscode-multi-select', {
    class: 'tag-select',
    attrs: { 'aria-label': 'Tags' },
  });
  private readonly picked = el('div', { class: 'picked-tags' });
  private readonly controls: SampleControls;
  private readonly generate = el('vscode-button', { class: 'btn-tag-generate', text: 'Generate' });
  private readonly ring = el('vscode-progress-ring', {
    class: 'generate-progress tag-generate-progress',
  });
  private readonly note = el('div', { class: 'generate-note' });
  private readonly error = el('div', {
    class: 'generate-error tag-generate-error',
    attrs: { role: 'alert' },
  });
  private readonly resultCaption = el('div', { class: 'generated-caption' });
  private readonly resultImage = el('img', { class: 'tag-samples-grid', attrs: { alt: '' } });
  private readonly result: HTMLElement;
  private readonly historyList = el('div', { class: 'tag-history-list' });
  private readonly history: HTMLElement;

  private props: TagPickerProps | null = null;
  /** The vocabulary the options were built from (rebuilt only when it changes). */
  private optionsKey: string | null = null;
  private historyShown: readonly TagSamplesView[] = [];
  private readonly historyItems = new WeakMap<TagSamplesView, HTMLElement>();
  private localError: string | null = null;

  constructor(private readonly callbacks: TagPickerCallbacks) {
    this.controls = new SampleControls((patch) => this.callbacks.settings(tagSettings(patch)));
    this.result = el(
      'div',
      { class: 'tag-samples-result' },
      this.resultCaption,
      el('div', { class: 'generated-frame' }, this.resultImage),
    );
    this.history = el(
      'div',
      { class: 'tag-history' },
      el('h4', { class: 'field-label', text: 'Earlier' }),
      this.historyList,
    );
    this.body = el(
      'div',
      { class: 'tag-sampler-body' },
      el(
        'div',
        { class: 'generate-controls' },
        field('Tags', this.select),
        this.controls.seedField,
        this.controls.truncationField,
        this.controls.countField,
        el('div', { class: 'generate-actions' }, this.generate, this.ring),
      ),
      this.picked,
      this.note,
      this.error,
      this.result,
      this.history,
    );
    this.element = el(
      'section',
      { class: 'tag-sampler' },
      el('h3', { text: 'Generate from tags' }),
      this.empty,
      this.body,
    );

    this.select.addEventListener('change', () => {
      const tags = pickableTags(this.props?.view?.tagNames ?? [], this.select.value);
      this.localError = null;
      this.callbacks.settings({ pickedTags: tags });
    });
    this.generate.addEventListener('click', () => this.onGenerate());
  }

  /** Puts the stored settings into the controls (at start-up). */
  restore(ui: UiState): void {
    this.controls.restore({ seed: ui.tagSeed, truncation: ui.tagTruncation, count: ui.tagCount });
  }

  update(props: TagPickerProps): void {
    this.props = props;
    const { view } = props;
    const tagNames = view?.tagNames ?? [];
    show(this.empty, tagNames.length === 0);
    show(this.body, tagNames.length > 0);
    setText(
      this.empty,
      !view
        ? 'No runs yet — Train starts one.'
        : `${view.summary.name} (${view.summary.model}) is not conditioned on tags. Sampling from ` +
            'tags needs a run of a config with model.condition "tags" (cgan, cgan-mlp or icgan-class).',
    );
    if (tagNames.length === 0) return;
    const picked = pickableTags(tagNames, props.ui.pickedTags);
    this.updateOptions(tagNames, picked);
    setText(this.picked, `Picked: ${picked.length > 0 ? describeTags(picked) : 'none'}`);
    this.updateGenerate(props, picked);
    this.updateResult(props.samples);
  }

  private updateOptions(tagNames: readonly string[], picked: readonly string[]): void {
    const key = JSON.stringify(tagNames);
    if (key === this.optionsKey) return;
    this.optionsKey = key;
    const chosen = new Set(picked);
    this.select.replaceChildren(
      ...tagNames.map((t) =>
        el('vscode-option', { text: t, attrs: { value: t, selected: chosen.has(t) } }),
      ),
    );
  }

  private updateGenerate(props: TagPickerProps, picked: readonly string[]): void {
    const { view, trusted, pending, error } = props;
    const reason = !trusted
      ? 'Generation is disabled: this workspace is not trusted.'
      : !view?.summary.hasCheckpoint
        ? 'Generation needs a checkpoint; the run has none yet.'
        : picked.length === 0
          ? 'Pick one or more tags.'
          : '';
    showGenerateStatus(
      { button: this.generate, ring: this.ring, note: this.note, error: this.error },
      reason,
      pending !== null,
      this.localError ?? error,
    );
  }

  private updateResult(samples: readonly TagSamplesView[]): void {
    const [latest, ...earlier] = samples;
    show(this.result, latest !== undefined);
    show(this.history, earlier.length > 0);
    if (latest) {
      if (this.resultImage.getAttribute('src') !== latest.uri) this.resultImage.src = latest.uri;
      const tags = describeTags(latest.tags);
      this.resultImage.alt = `Samples with ${tags}`;
      setText(this.resultCaption, `${tags} · ${latest.count} images`);
    }
    const same =
      earlier.length === this.historyShown.length &&
      earlier.every((v, i) => v === this.historyShown[i]);
    if (same) return;
    this.historyShown = earlier;
    this.historyList.replaceChildren(
      ...earlier.map((v) => {
        let item = this.historyItems.get(v);
        if (!item) {
          item = historyItem(v);
          this.historyItems.set(v, item);
        }
        return item;
      }),
    );
  }

  private onGenerate(): void {
    const props = this.props;
    if (!props?.view || this.generate.hasAttribute('disabled')) return;
    const tags = pickableTags(props.view.tagNames, props.ui.pickedTags);
    const settings = this.controls.read();
    this.localError = 'error' in settings ? settings.error : null;
    if (tags.length === 0 || 'error' in settings) {
      this.update(props);
      return;
    }
    this.callbacks.generate({ tags, ...settings });
  }
}
