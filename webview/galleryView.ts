/**
 * The Gallery tab of an instance-conditioned (IC-GAN) run: pick one of the gallery's instances,
 * see it next to its nearest real neighbours and the images generated from it, and generate more
 * from it with a chosen seed, truncation, class and count.
 */
import { varietyText } from './varietyText';
import type { GalleryRow } from '../src/protocol/runnerEvents';
import type {
  GalleryView as Gallery,
  GeneratedView,
  RunView,
} from '../src/protocol/webviewMessages';
import { meanSimilarity, type PendingGenerate } from './dashboardModel';
import { el, formatNumber, setText, show } from './dom';
import { galleryGeometry, galleryRowCrop, type Rect } from './galleryGeometry';
import { field, SampleControls, showGenerateStatus } from './sampleControls';
import type { UiState } from './uiState';

/** Displayed height of one gallery cell, in CSS pixels (before the width limit). */
const TARGET_CELL = 96;

export interface GenerateRequest {
  instance: number;
  seed: number;
  truncation: number;
  className?: string;
  count: number;
}

export interface GalleryCallbacks {
  /** A gallery row was picked. */
  select(instance: number): void;
  /** A generation setting changed (only valid values are passed). */
  settings(patch: Partial<Pick<UiState, 'seed' | 'truncation' | 'className' | 'count'>>): void;
  generate(request: GenerateRequest): void;
}

export interface GalleryProps {
  view: RunView | null;
  trusted: boolean;
  ui: UiState;
  pending: PendingGenerate | null;
  error: string | null;
  result: GeneratedView | undefined;
}

function rowLabel(row: GalleryRow): string {
  return row.label ? `#${row.instance} · ${row.label}` : `#${row.instance}`;
}

/** The row whose instance is `instance`, else the first. */
function selectedRow(gallery: Gallery, instance: number | null): number {
  const index = gallery.rows.findIndex((r) => r.instance === instance);
  return index >= 0 ? index : 0;
}

function figure(className: string): {
  root: HTMLElement;
  caption: HTMLElement;
  canvas: HTMLCanvasElement;
} {
  const caption = el('figcaption');
  const canvas = el('canvas', { class: 'gallery-canvas' });
  return {
    root: el('figure', { class: `gallery-group ${className}` }, caption, canvas),
    caption,
    canvas,
  };
}

export class GalleryPanel {
  readonly element: HTMLElement;
  private readonly empty = el('div', { class: 'empty-state' });
  private readonly body: HTMLElement;
  private readonly rowList = el('ul', {
    class: 'gallery-rows',
    attrs: { role: 'listbox', 'aria-label': 'Gallery instances' },
  });
  private readonly stepLabel = el('div', { class: 'gallery-step' });
  private readonly groups = {
    instance: figure('group-instance'),
    neighbours: figure('group-neighbours'),
    samples: figure('group-generated'),
  };
  private readonly controls: SampleControls;
  private readonly classField: HTMLElement;
  private readonly classSelect = el('vscode-single-select', {
    class: 'class-select',
    attrs: { 'aria-label': 'Class' },
  });
  private readonly generate = el('vscode-button', { class: 'btn-generate', text: 'Generate' });
  private readonly ring = el('vscode-progress-ring', { class: 'generate-progress' });
  private readonly error = el('div', { class: 'generate-error', attrs: { role: 'alert' } });
  private readonly note = el('div', { class: 'generate-note' });
  private readonly resultImage = el('img', {
    class: 'generated-grid',
    attrs: { alt: 'Generated images' },
  });
  private readonly resultCaption = el('div', { class: 'generated-caption' });
  private readonly result: HTMLElement;

  private props: GalleryProps | null = null;
  private rowsShown: readonly GalleryRow[] | null = null;
  private classNamesShown: readonly string[] | null = null;
  private image: HTMLImageElement | null = null;
  private imageUri: string | null = null;
  private imageLoaded = false;
  private drawnKey = '';
  private localError: string | null = null;

  constructor(private readonly callbacks: GalleryCallbacks) {
    this.controls = new SampleControls((patch) => this.callbacks.settings(patch));
    this.classField = field('Class', this.classSelect);
    this.result = el(
      'div',
      { class: 'generate-result' },
      this.resultCaption,
      el('div', { class: 'generated-frame' }, this.resultImage),
    );
    const { instance, neighbours, samples } = this.groups;
    this.body = el(
      'div',
      { class: 'gallery-body' },
      el('div', { class: 'gallery-sidebar' }, el('h3', { text: 'Instances' }), this.rowList),
      el(
        'div',
        { class: 'gallery-detail' },
        this.stepLabel,
        el('div', { class: 'gallery-groups' }, instance.root, neighbours.root, samples.root),
        el('vscode-divider'),
        el('h3', { text: 'Generate from this instance' }),
        el(
          'div',
          { class: 'generate-controls' },
          this.controls.seedField,
          this.controls.truncationField,
          this.classField,
          this.controls.countField,
          el('div', { class: 'generate-actions' }, this.generate, this.ring),
        ),
        this.note,
        this.error,
        this.result,
      ),
    );
    this.element = el('section', { class: 'gallery' }, this.empty, this.body);

    this.rowList.addEventListener('click', (e) => this.pickRow(e.target));
    this.rowList.addEventListener('keydown', (e) => this.onRowKey(e));
    this.classSelect.addEventListener('change', () => {
      this.callbacks.settings({ className: this.classSelect.value });
    });
    this.generate.addEventListener('click', () => this.onGenerate());
  }

  /** Puts the stored settings into the controls (at start-up). */
  restore(ui: UiState): void {
    this.controls.restore(ui);
  }

  update(props: GalleryProps): void {
    this.props = props;
    const { view } = props;
    const gallery = view?.instanceConditioned ? view.gallery : null;
    show(this.empty, !gallery);
    show(this.body, Boolean(gallery));
    if (!view) setText(this.empty, 'No runs yet — Train starts one.');
    else if (!view.instanceConditioned) {
      setText(
        this.empty,
        `No gallery: ${view.summary.name} (${view.summary.model}) is not instance-conditioned. ` +
          'Galleries and generation from instances need an IC-GAN run.',
      );
    } else setText(this.empty, 'No gallery yet — the first one is drawn after the first interval.');
    if (!gallery || !view) return;

    const rowIndex = selectedRow(gallery, props.ui.galleryInstance);
    const row = gallery.rows[rowIndex];
    this.updateRows(gallery.rows, row?.instance ?? null);
    setText(
      this.stepLabel,
      `Gallery at step ${formatNumber(gallery.step)} · ${gallery.rows.length} instances`,
    );
    this.loadImage(gallery.uri);
    this.draw(gallery, rowIndex);
    this.updateClasses(view.classNames, props.ui.className);
    this.updateGenerate(props, row);
  }

  private updateRows(rows: readonly GalleryRow[], selected: number | null): void {
    if (rows !== this.rowsShown) {
      this.rowsShown = rows;
      this.rowList.replaceChildren(
        ...rows.map((r) =>
          el('li', {
            class: 'gallery-row-item',
            text: rowLabel(r),
            attrs: { role: 'option', tabindex: 0, 'data-instance': r.instance },
            title: `instance ${r.instance}; neighbours ${r.neighbours.join(', ')}`,
          }),
        ),
      );
    }
    for (const item of Array.from(this.rowList.children)) {
      const on = item.getAttribute('data-instance') === String(selected);
      item.classList.toggle('is-selected', on);
      item.setAttribute('aria-selected', String(on));
    }
  }

  private pickRow(target: EventTarget | null): void {
    const item = target instanceof Element ? target.closest('.gallery-row-item') : null;
    const instance = Number(item?.getAttribute('data-instance'));
    if (item && Number.isInteger(instance)) this.callbacks.select(instance);
  }

  private onRowKey(e: KeyboardEvent): void {
    const item = e.target instanceof HTMLElement ? e.target.closest('.gallery-row-item') : null;
    if (!item) return;
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      this.pickRow(item);
    } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      const next = e.key === 'ArrowDown' ? item.nextElementSibling : item.previousElementSibling;
      if (next instanceof HTMLElement) {
        next.focus();
        this.pickRow(next);
      }
    }
  }

  private loadImage(uri: string): void {
    if (uri === this.imageUri) return;
    this.imageUri = uri;
    this.imageLoaded = false;
    this.drawnKey = '';
    const image = new Image();
    image.addEventListener('load', () => {
      if (this.image !== image) return;
      this.imageLoaded = true;
      const p = this.props;
      const gallery = p?.view?.gallery;
      if (gallery) this.draw(gallery, selectedRow(gallery, p?.ui.galleryInstance ?? null));
    });
    image.src = uri;
    this.image = image;
  }

  private draw(gallery: Gallery, rowIndex: number): void {
    const image = this.image;
    const row = gallery.rows[rowIndex];
    const k = gallery.neighbours;
    setText(this.groups.instance.caption, row ? `instance ${rowLabel(row)}` : 'instance');
    setText(this.groups.neighbours.caption, `${k} nearest real neighbour${k === 1 ? '' : 's'}`);
    setText(this.groups.samples.caption, `generated (${gallery.samplesPerRow})${varietyText(row)}`);
    show(this.groups.neighbours.root, k > 0);
    show(this.groups.samples.root, gallery.samplesPerRow > 0);
    if (!image || !this.imageLoaded || !row) return;
    const key = `${gallery.uri}|${rowIndex}|${image.naturalWidth}x${image.naturalHeight}`;
    if (key === this.drawnKey) return;
    const geometry = galleryGeometry(
      image.naturalWidth,
      image.naturalHeight,
      gallery.rows.length,
      k,
      gallery.samplesPerRow,
    );
    const crop = geometry && galleryRowCrop(geometry, rowIndex);
    if (!geometry || !crop) return;
    this.drawnKey = key;
    const scale = Math.max(1, Math.round(TARGET_CELL / geometry.cellHeight));
    this.groups.neighbours.canvas.title = `neighbours: ${row.neighbours.join(', ')}`;
    const paint = (canvas: HTMLCanvasElement, rect: Rect) => {
      if (rect.width <= 0 || rect.height <= 0) return;
      canvas.width = Math.round(rect.width * scale);
      canvas.height = Math.round(rect.height * scale);
      const ctx = canvas.getContext('2d');
      if (!ctx) return;
      ctx.imageSmoothingEnabled = false;
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      ctx.drawImage(
        image,
        rect.x,
        rect.y,
        rect.width,
        rect.height,
        0,
        0,
        canvas.width,
        canvas.height,
      );
    };
    paint(this.groups.instance.canvas, crop.instance);
    paint(this.groups.neighbours.canvas, crop.neighbours);
    paint(this.groups.samples.canvas, crop.samples);
  }

  private updateClasses(classNames: readonly string[], selected: string): void {
    show(this.classField, classNames.length > 0);
    if (classNames === this.classNamesShown) return;
    this.classNamesShown = classNames;
    const value = classNames.includes(selected) ? selected : '';
    const option = (v: string, label: string) =>
      el('vscode-option', { text: label, attrs: { value: v, selected: v === value } });
    this.classSelect.replaceChildren(
      option('', 'nearest instance’s class'),
      ...classNames.map((name) => option(name, name)),
    );
  }

  private updateGenerate(props: GalleryProps, row: GalleryRow | undefined): void {
    const { view, trusted, pending, error, result } = props;
    const reason = !trusted
      ? 'Generation is disabled: this workspace is not trusted.'
      : !view?.summary.hasCheckpoint
        ? 'Generation needs a checkpoint; the run has none yet.'
        : !row
          ? 'The gallery has no instances.'
          : '';
    showGenerateStatus(
      { button: this.generate, ring: this.ring, note: this.note, error: this.error },
      reason,
      pending !== null,
      this.localError ?? error,
    );

    show(this.result, Boolean(result));
    if (!result) return;
    if (this.resultImage.getAttribute('src') !== result.gridUri)
      this.resultImage.src = result.gridUri;
    const source = 'instance' in result.source ? `instance #${result.source.instance}` : 'image';
    const mean = meanSimilarity(result.similarities);
    const parts = [
      `${source} (first image), ${result.count} generated`,
      `seed ${result.seed}`,
      `truncation ${result.truncation}`,
      result.className ? `class ${result.className}` : null,
      mean !== null ? `mean similarity ${mean.toFixed(3)}` : null,
    ];
    setText(this.resultCaption, parts.filter((p) => p !== null).join(' · '));
  }

  private onGenerate(): void {
    const props = this.props;
    const gallery = props?.view?.gallery;
    if (!props || !gallery || this.generate.hasAttribute('disabled')) return;
    const row = gallery.rows[selectedRow(gallery, props.ui.galleryInstance)];
    if (!row) return;
    const settings = this.controls.read();
    this.localError = 'error' in settings ? settings.error : null;
    if ('error' in settings) {
      this.update(props);
      return;
    }
    const className = props.view?.classNames.includes(props.ui.className)
      ? props.ui.className
      : undefined;
    this.callbacks.generate({
      instance: row.instance,
      ...settings,
      ...(className ? { className } : {}),
    });
  }
}
