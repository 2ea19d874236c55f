/**
 * What every generate form of the dashboard has (the gallery's and the Tags tab's): the seed with
 * a New seed button, the truncation slider, the count, their validation, and the Generate
 * button's state (disabled with a reason, a progress ring while pending, an error).
 */
import { el, flag, setText, show } from './dom';
import {
  COUNT_MAX,
  parseCount,
  parseSeed,
  SEED_MAX,
  TRUNCATION_MAX,
  TRUNCATION_MIN,
} from './uiState';

export interface SampleSettings {
  seed: number;
  truncation: number;
  count: number;
}

/** A random seed in [0, SEED_MAX] from the platform's CSPRNG. */
export function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]! & SEED_MAX;
}

/** A labelled form field. */
export function field(label: string, ...controls: HTMLElement[]): HTMLElement {
  return el(
    'label',
    { class: 'field' },
    el('span', { class: 'field-label', text: label }),
    ...controls,
  );
}

export class SampleControls {
  readonly seedField: HTMLElement;
  readonly truncationField: HTMLElement;
  readonly countField: HTMLElement;
  private readonly seed = el('vscode-textfield', {
    class: 'seed-input',
    attrs: { type: 'number', min: 0, max: SEED_MAX, step: 1, 'aria-label': 'Seed' },
  });
  private readonly newSeed = el('vscode-button', {
    class: 'btn-new-seed',
    text: 'New seed',
    attrs: { secondary: true },
  });
  private readonly truncation = el('input', {
    class: 'truncation-input',
    attrs: {
      type: 'range',
      min: TRUNCATION_MIN,
      max: TRUNCATION_MAX,
      step: 0.05,
      'aria-label': 'Truncation',
    },
  });
  private readonly truncationValue = el('span', { class: 'truncation-value' });
  private readonly count = el('vscode-textfield', {
    class: 'count-input',
    attrs: { type: 'number', min: 1, max: COUNT_MAX, step: 1, 'aria-label': 'Count' },
  });

  /** `changed` gets each valid edit. */
  constructor(changed: (patch: Partial<SampleSettings>) => void) {
    this.seedField = field('Seed', this.seed, this.newSeed);
    this.truncationField = field('Truncation', this.truncation, this.truncationValue);
    this.countField = field('Count', this.count);
    this.newSeed.addEventListener('click', () => {
      const seed = randomSeed();
      this.seed.value = String(seed);
      changed({ seed });
    });
    this.seed.addEventListener('input', () => {
      const seed = parseSeed(this.seed.value);
      if (seed !== null) changed({ seed });
    });
    this.truncation.addEventListener('input', () => {
      const truncation = Number(this.truncation.value);
      setText(this.truncationValue, truncation.toFixed(2));
      changed({ truncation });
    });
    this.count.addEventListener('input', () => {
      const count = parseCount(this.count.value);
      if (count !== null) changed({ count });
    });
  }

  /** Puts stored settings into the controls (at start-up). */
  restore(s: SampleSettings): void {
    this.seed.value = String(s.seed);
    this.truncation.value = String(s.truncation);
    setText(this.truncationValue, s.truncation.toFixed(2));
    this.count.value = String(s.count);
  }

  /** The settings as typed, or the message that says which one is not valid. */
  read(): SampleSettings | { error: string } {
    const seed = parseSeed(this.seed.value);
    const count = parseCount(this.count.value);
    if (seed === null) return { error: `Seed must be a whole number from 0 to ${SEED_MAX}.` };
    if (count === null) return { error: `Count must be a whole number from 1 to ${COUNT_MAX}.` };
    return { seed, count, truncation: Number(this.truncation.value) };
  }
}

export interface GenerateStatusParts {
  button: HTMLElement;
  ring: HTMLElement;
  note: HTMLElement;
  error: HTMLElement;
}

/** The Generate button disabled while `reason` is set or a request is pending, and why; the error. */
export function showGenerateStatus(
  parts: GenerateStatusParts,
  reason: string,
  pending: boolean,
  error: string | null,
): void {
  flag(parts.button, 'disabled', reason !== '' || pending);
  show(parts.ring, pending);
  setText(parts.note, reason);
  show(parts.note, reason !== '');
  setText(parts.error, error ?? '');
  show(parts.error, Boolean(error));
}
