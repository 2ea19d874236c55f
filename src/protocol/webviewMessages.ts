import type { BackendInfo, GalleryRow, RunStatus } from './runnerEvents';

/**
 * Messages between the extension host and a dashboard webview (one webview per config file).
 * The webview never touches files: every image arrives as a URI the host made loadable with
 * `asWebviewUri`. The webview says `ready`; the host answers with the full `state`, then streams
 * deltas. Plain data only — imported by the extension and by the browser bundle.
 */

/** One row of a run's history, as the run folder's run.json tells it. */
export interface RunSummary {
  /** Run-folder name, unique within the config's runs folder; the id used in every message. */
  name: string;
  status: RunStatus;
  model: string;
  step: number;
  totalSteps: number;
  backend: string | null;
  startedAt: string;
  updatedAt: string;
  message?: string;
  /** Whether the run has a checkpoint to sample or resume from. */
  hasCheckpoint: boolean;
}

export interface LossPoint {
  step: number;
  dLoss: number;
  gLoss: number;
  dReal: number;
  dFake: number;
  imagesPerSec: number;
}

export interface SampleGrid {
  step: number;
  uri: string;
  count: number;
  columns: number;
}

/** An instance-neighbour gallery image: per row an instance | its k neighbours | samples. */
export interface GalleryView {
  step: number;
  uri: string;
  rows: GalleryRow[];
  /** Neighbours per row (the run's k). */
  neighbours: number;
  samplesPerRow: number;
}

/** The latest reading of the run's mode-collapse watch (a `diversity` event). */
export interface DiversityView {
  step: number;
  median: number;
  groups: { name: string; ratio: number }[];
  collapsed: string[];
}

/** Everything the dashboard shows about one run. */
export interface RunView {
  summary: RunSummary;
  backend: BackendInfo | null;
  /** Class names of a class-conditional run (for the class swap), else empty. */
  classNames: string[];
  /** Whether the run conditions on instances (IC-GAN): the gallery and generation apply. */
  instanceConditioned: boolean;
  /** The tag vocabulary of a run conditioned on tags (what the tag picker offers), else empty. */
  tagNames: string[];
  losses: LossPoint[];
  /** Sample grids in step order; the last is the latest. */
  samples: SampleGrid[];
  gallery: GalleryView | null;
  diversity: DiversityView | null;
  /** Recent log lines (warnings, errors, backend notes). */
  log: string[];
}

/** Images generated on request: from a training instance (gallery) or an image (transfer). */
export interface GeneratedView {
  /** Echoes the request's id; absent for generations started from the explorer. */
  requestId?: number;
  run: string;
  source: { instance: number } | { image: string };
  /** Grid PNG whose first cell is the conditioning image. */
  gridUri: string;
  count: number;
  /** Cosine similarity of each kept image's features to the conditioning features. */
  similarities: number[];
  /** Strip: the conditioning image, then its nearest training instances (transfer only). */
  neighboursUri?: string;
  nearestInstance?: number;
  className?: string;
  seed: number;
  truncation: number;
}

/** A grid sampled from a tags-conditioned run on the dashboard's request: every image has `tags`. */
export interface TagSamplesView {
  requestId: number;
  run: string;
  tags: string[];
  uri: string;
  count: number;
  columns: number;
}

/** Image → tags: what a run's tagger suggested for an image (started from the Explorer). */
export interface SuggestedTagsView {
  run: string;
  /** The image's file name (not its path: the webview has no business with the file system). */
  image: string;
  /** Best first: the share of the tagger's votes, and the mean cosine of the votes. */
  tags: { tag: string; score: number; similarity: number }[];
  /** Whether this request trained the run's tagger (its first). */
  trained: boolean;
  embedding: 'onehot' | 'skipgram';
}

/** Log lines a run view carries (the newest), on the host and in the webview alike. */
export const MAX_LOG_LINES = 200;

/** Suggested-tags entries and tag-sample grids kept per panel (the newest). */
export const MAX_SUGGESTED_TAGS = 20;
export const MAX_TAG_SAMPLES = 8;

/** The most tags one tag-sampling request may name (the shapes have 24; a sidecar may have more). */
export const MAX_REQUEST_TAGS = 64;

export interface DashboardState {
  configPath: string;
  configName: string;
  /** Whether a training process for this config is alive. */
  training: boolean;
  /** Whether the workspace is trusted (training and generation are disabled otherwise). */
  trusted: boolean;
  /** Newest first. */
  runs: RunSummary[];
  /** The run shown: the one training, else the newest. */
  current: RunView | null;
  generated: GeneratedView[];
  /** Tag-sample grids the dashboard asked for, newest first (at most MAX_TAG_SAMPLES). */
  tagSamples: TagSamplesView[];
  /** Newest first (at most MAX_SUGGESTED_TAGS). */
  suggestedTags: SuggestedTagsView[];
}

export type HostToWebview =
  | { type: 'state'; state: DashboardState }
  /** A new run started (or resumed) for this config: replaces `current`. */
  | { type: 'run'; view: RunView }
  /** A run's status, step or backend changed (history row and header). */
  | { type: 'summary'; summary: RunSummary }
  /** New loss points, in step order (batched: a fast run logs far more steps than a UI can draw). */
  | { type: 'steps'; run: string; points: LossPoint[] }
  | { type: 'samples'; run: string; grid: SampleGrid }
  | { type: 'gallery'; run: string; gallery: GalleryView }
  | { type: 'diversity'; run: string; diversity: DiversityView }
  | { type: 'log'; run: string; line: string }
  | { type: 'training'; training: boolean }
  /** Answer to `loadRun`: a run's full data (for viewing or overlaying curves). */
  | { type: 'runData'; view: RunView; purpose: 'show' | 'compare' }
  | { type: 'generated'; view: GeneratedView }
  /** Answer to `sampleTags` (a failure answers `generateFailed` with the same requestId). */
  | ({ type: 'tagSamples' } & TagSamplesView)
  | { type: 'suggestedTags'; view: SuggestedTagsView }
  | { type: 'generateFailed'; requestId?: number; message: string };

export type WebviewToHost =
  | { type: 'ready' }
  | { type: 'train' }
  | { type: 'stop' }
  | { type: 'resume'; run: string }
  | { type: 'loadRun'; run: string; purpose: 'show' | 'compare' }
  | {
      type: 'generate';
      requestId: number;
      run: string;
      instance: number;
      seed: number;
      truncation: number;
      className?: string;
      count: number;
    }
  /** A grid from a tags-conditioned run in which every image has exactly `tags`. */
  | {
      type: 'sampleTags';
      requestId: number;
      run: string;
      tags: string[];
      count: number;
      seed: number;
      truncation: number;
    }
  | { type: 'openLog' }
  | { type: 'openConfig' };

const isString = (v: unknown): v is string => typeof v === 'string';
const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isCount = (v: unknown): v is number =>
  Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 64;
const isTagList = (v: unknown): v is string[] =>
  Array.isArray(v) &&
  v.length >= 1 &&
  v.length <= MAX_REQUEST_TAGS &&
  v.every((t) => isString(t) && t.trim() !== '');

/**
 * Checks a message from the webview against the protocol. The webview is the least trusted side
 * of the extension (it renders images and could be fed content), so the host acts only on
 * messages that pass this; anything else is ignored and logged.
 */
export function parseWebviewMessage(value: unknown): WebviewToHost | null {
  if (typeof value !== 'object' || value === null) return null;
  const m = value as Record<string, unknown>;
  switch (m.type) {
    case 'ready':
    case 'train':
    case 'stop':
    case 'openLog':
    case 'openConfig':
      return { type: m.type };
    case 'resume':
      return isString(m.run) ? { type: 'resume', run: m.run } : null;
    case 'loadRun':
      return isString(m.run) && (m.purpose === 'show' || m.purpose === 'compare')
        ? { type: 'loadRun', run: m.run, purpose: m.purpose }
        : null;
    case 'generate': {
      const ok =
        Number.isInteger(m.requestId) &&
        isString(m.run) &&
        Number.isInteger(m.instance) &&
        (m.instance as number) >= 0 &&
        Number.isInteger(m.seed) &&
        isFiniteNumber(m.truncation) &&
        m.truncation > 0 &&
        isCount(m.count) &&
        (m.className === undefined || isString(m.className));
      if (!ok) return null;
      return {
        type: 'generate',
        requestId: m.requestId as number,
        run: m.run as string,
        instance: m.instance as number,
        seed: m.seed as number,
        truncation: m.truncation as number,
        count: m.count as number,
        ...(m.className !== undefined ? { className: m.className as string } : {}),
      };
    }
    case 'sampleTags': {
      const ok =
        Number.isInteger(m.requestId) &&
        isString(m.run) &&
        isTagList(m.tags) &&
        isCount(m.count) &&
        Number.isInteger(m.seed) &&
        isFiniteNumber(m.truncation) &&
        m.truncation > 0;
      if (!ok) return null;
      return {
        type: 'sampleTags',
        requestId: m.requestId as number,
        run: m.run as string,
        tags: m.tags as string[],
        count: m.count as number,
        seed: m.seed as number,
        truncation: m.truncation as number,
      };
    }
    default:
      return null;
  }
}
