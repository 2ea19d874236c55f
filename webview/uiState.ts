/**
 * What the dashboard remembers across reloads through `vscode.getState()/setState()`: a hidden
 * panel's webview is torn down and rebuilt, and comes back with this while the data comes back
 * from the host's `state`. Pure; no DOM. Restoring validates every field, since the stored value
 * may come from an older version of the dashboard.
 */
import { clampSmoothing } from './smoothing';

export const TABS = [
  { id: 'losses', label: 'Losses' },
  { id: 'samples', label: 'Samples' },
  { id: 'gallery', label: 'Gallery' },
  { id: 'generated', label: 'Generated' },
  { id: 'tags', label: 'Tags' },
  { id: 'runs', label: 'Runs' },
  { id: 'log', label: 'Log' },
] as const;

export type TabId = (typeof TABS)[number]['id'];

export const TRUNCATION_MIN = 0.5;
export const TRUNCATION_MAX = 2;
export const COUNT_MAX = 64;
/** Seeds stay within int32 so every consumer reads them the same. */
export const SEED_MAX = 0x7fffffff;
/** Tags remembered as picked (the protocol's limit per request). */
export const PICKED_TAGS_MAX = 64;

export interface UiState {
  tab: TabId;
  smoothing: number;
  /** Step of the sample grid shown; null follows the latest. */
  sampleStep: number | null;
  /** Training-set index of the gallery row shown; null picks the first row. */
  galleryInstance: number | null;
  seed: number;
  truncation: number;
  /** '' = the nearest instance's class. */
  className: string;
  count: number;
  /** The Tags tab's own settings: the tags picked, and the grid's seed, truncation and count. */
  pickedTags: string[];
  tagSeed: number;
  tagTruncation: number;
  tagCount: number;
  compareRun: string | null;
  /** A run the user opened from the Runs tab (null: whatever the host shows). */
  shownRun: string | null;
  nextRequestId: number;
  /** The config this panel shows: the host's serializer reopens it after a restart. */
  configPath: string | null;
}

export function defaultUiState(seed: number): UiState {
  return {
    tab: 'losses',
    smoothing: 0.6,
    sampleStep: null,
    galleryInstance: null,
    seed,
    truncation: 1,
    className: '',
    count: 8,
    pickedTags: [],
    tagSeed: seed,
    tagTruncation: 1,
    tagCount: 16,
    compareRun: null,
    shownRun: null,
    nextRequestId: 1,
    configPath: null,
  };
}

const isTab = (v: unknown): v is TabId => TABS.some((t) => t.id === v);
const isInt = (v: unknown, min: number, max: number): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
const isNumberIn = (v: unknown, min: number, max: number): v is number =>
  typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max;
const stringOrNull = (v: unknown): string | null => (typeof v === 'string' && v ? v : null);
const isTagList = (v: unknown): v is string[] =>
  Array.isArray(v) &&
  v.length <= PICKED_TAGS_MAX &&
  v.every((t) => typeof t === 'string' && t.trim() !== '');

/** The stored state, field by field, falling back to defaults for anything missing or invalid. */
export function restoreUiState(raw: unknown, seed: number): UiState {
  const d = defaultUiState(seed);
  if (typeof raw !== 'object' || raw === null) return d;
  const r = raw as Record<string, unknown>;
  return {
    tab: isTab(r.tab) ? r.tab : d.tab,
    smoothing: isNumberIn(r.smoothing, 0, 1) ? clampSmoothing(r.smoothing) : d.smoothing,
    sampleStep: isInt(r.sampleStep, 0, Number.MAX_SAFE_INTEGER) ? r.sampleStep : null,
    galleryInstance: isInt(r.galleryInstance, 0, Number.MAX_SAFE_INTEGER)
      ? r.galleryInstance
      : null,
    seed: isInt(r.seed, 0, SEED_MAX) ? r.seed : d.seed,
    truncation: isNumberIn(r.truncation, TRUNCATION_MIN, TRUNCATION_MAX)
      ? r.truncation
      : d.truncation,
    className: typeof r.className === 'string' ? r.className : d.className,
    count: isInt(r.count, 1, COUNT_MAX) ? r.count : d.count,
    pickedTags: isTagList(r.pickedTags) ? [...r.pickedTags] : d.pickedTags,
    tagSeed: isInt(r.tagSeed, 0, SEED_MAX) ? r.tagSeed : d.tagSeed,
    tagTruncation: isNumberIn(r.tagTruncation, TRUNCATION_MIN, TRUNCATION_MAX)
      ? r.tagTruncation
      : d.tagTruncation,
    tagCount: isInt(r.tagCount, 1, COUNT_MAX) ? r.tagCount : d.tagCount,
    compareRun: stringOrNull(r.compareRun),
    shownRun: stringOrNull(r.shownRun),
    nextRequestId: isInt(r.nextRequestId, 1, Number.MAX_SAFE_INTEGER)
      ? r.nextRequestId
      : d.nextRequestId,
    configPath: stringOrNull(r.configPath),
  };
}

/** Parses a seed typed by the user: a whole number in [0, SEED_MAX], else null. */
export function parseSeed(text: string): number | null {
  const t = text.trim();
  if (!/^\d+$/.test(t)) return null;
  const n = Number(t);
  return n <= SEED_MAX ? n : null;
}

/** Parses an image count typed by the user: a whole number in [1, COUNT_MAX], else null. */
export function parseCount(text: string): number | null {
  const t = text.trim();
  if (!/^\d+$/.test(t)) return null;
  const n = Number(t);
  return n >= 1 && n <= COUNT_MAX ? n : null;
}
