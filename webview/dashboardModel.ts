/**
 * The dashboard's data: what the host sent (`state`, then deltas) plus the one request the
 * webview has in flight. `reduce` is pure and DOM-free so it runs in plain Node tests; the view
 * renders from the model it returns. Arrays are never mutated: a changed array is a new array, so
 * views can skip work with identity checks (unchanged loss points keep their identity too, which
 * lets the charts append instead of rebuilding).
 */
import {
  MAX_LOG_LINES,
  MAX_SUGGESTED_TAGS,
  MAX_TAG_SAMPLES,
  type DashboardState,
  type GeneratedView,
  type HostToWebview,
  type LossPoint,
  type RunSummary,
  type RunView,
  type TagSamplesView,
} from '../src/protocol/webviewMessages';

export interface PendingGenerate {
  requestId: number;
  run: string;
  instance: number;
}

/** A tag-sampling request (the Tags tab) the host has not answered yet. */
export interface PendingTagSamples {
  requestId: number;
  run: string;
}

export interface DashboardModel {
  /** Null until the host's first `state`. */
  state: DashboardState | null;
  /** A second run whose curves are overlaid on the loss chart. */
  compare: RunView | null;
  /** The generation the webview asked for and has no answer to yet. */
  pending: PendingGenerate | null;
  /** The last `generateFailed` message (cleared by the next request or success). */
  generateError: string | null;
  /** Bumped whenever a generation without requestId (started elsewhere) arrives. */
  transferSeq: number;
  /** The Tags tab's request in flight, and its last failure (cleared by the next request). */
  tagPending: PendingTagSamples | null;
  tagError: string | null;
  /** Bumped whenever a suggested-tags entry (started from the Explorer) arrives. */
  suggestedSeq: number;
}

export const initialModel: DashboardModel = {
  state: null,
  compare: null,
  pending: null,
  generateError: null,
  transferSeq: 0,
  tagPending: null,
  tagError: null,
  suggestedSeq: 0,
};

const HOST_TYPES: ReadonlySet<string> = new Set<HostToWebview['type']>([
  'state',
  'run',
  'summary',
  'steps',
  'samples',
  'gallery',
  'diversity',
  'log',
  'training',
  'runData',
  'generated',
  'tagSamples',
  'suggestedTags',
  'generateFailed',
]);

/** A cheap shape check of a posted message (the host is trusted; this guards against noise). */
export function isHostMessage(value: unknown): value is HostToWebview {
  if (typeof value !== 'object' || value === null) return false;
  const type = (value as { type?: unknown }).type;
  return typeof type === 'string' && HOST_TYPES.has(type);
}

/** Keeps the newest MAX_LOG_LINES lines. */
export function capLog(lines: readonly string[]): string[] {
  return lines.length > MAX_LOG_LINES ? lines.slice(lines.length - MAX_LOG_LINES) : [...lines];
}

function normalizeView(view: RunView): RunView {
  return view.log.length > MAX_LOG_LINES ? { ...view, log: capLog(view.log) } : view;
}

/**
 * Appends a loss point. A point at or before the last step (a resumed run replaying the steps
 * after its checkpoint) replaces that tail, so steps stay increasing, as the chart needs.
 */
export function appendLoss(losses: readonly LossPoint[], point: LossPoint): LossPoint[] {
  const last = losses[losses.length - 1];
  if (last === undefined || point.step > last.step) return [...losses, point];
  let keep = losses.length;
  while (keep > 0 && (losses[keep - 1] as LossPoint).step >= point.step) keep--;
  return [...losses.slice(0, keep), point];
}

/** Appends a batch of points in one copy (a resumed run's replayed steps replace the tail). */
export function appendLosses(
  losses: readonly LossPoint[],
  points: readonly LossPoint[],
): LossPoint[] {
  const first = points[0];
  if (first === undefined) return [...losses];
  const last = losses[losses.length - 1];
  if (last === undefined || first.step > last.step) {
    let ordered = true;
    for (let i = 1; i < points.length && ordered; i++) {
      ordered = (points[i] as LossPoint).step > (points[i - 1] as LossPoint).step;
    }
    if (ordered) return losses.concat(points);
  }
  return points.reduce<LossPoint[]>((acc, p) => appendLoss(acc, p), [...losses]);
}

/** Replaces the row with the same name, or puts a new row first (the list is newest first). */
export function upsertSummary(runs: readonly RunSummary[], summary: RunSummary): RunSummary[] {
  const index = runs.findIndex((r) => r.name === summary.name);
  if (index < 0) return [summary, ...runs];
  const next = [...runs];
  next[index] = summary;
  return next;
}

const currentName = (state: DashboardState | null): string | null =>
  state?.current?.summary.name ?? null;

/** Applies `update` to the current run when `run` names it. */
function withCurrent(
  model: DashboardModel,
  run: string,
  update: (view: RunView) => RunView,
): DashboardModel {
  const state = model.state;
  if (!state?.current || state.current.summary.name !== run) return model;
  return { ...model, state: { ...state, current: update(state.current) } };
}

export function reduce(model: DashboardModel, msg: HostToWebview): DashboardModel {
  switch (msg.type) {
    case 'state': {
      const state: DashboardState = {
        ...msg.state,
        current: msg.state.current ? normalizeView(msg.state.current) : null,
      };
      const compare =
        model.compare &&
        state.runs.some((r) => r.name === model.compare?.summary.name) &&
        model.compare.summary.name !== currentName(state)
          ? model.compare
          : null;
      return { ...model, state, compare };
    }
    case 'run': {
      if (!model.state) return model;
      const view = normalizeView(msg.view);
      const name = view.summary.name;
      return {
        ...model,
        state: {
          ...model.state,
          current: view,
          runs: upsertSummary(model.state.runs, view.summary),
        },
        compare: model.compare?.summary.name === name ? null : model.compare,
      };
    }
    case 'summary': {
      const state = model.state;
      if (!state) return model;
      const { summary } = msg;
      let current = state.current;
      if (current?.summary.name === summary.name) {
        // run.json is written less often than steps stream in: don't step the header backwards.
        const step =
          summary.status === 'running'
            ? Math.max(summary.step, current.summary.step)
            : summary.step;
        current = { ...current, summary: { ...summary, step } };
      }
      const compare =
        model.compare?.summary.name === summary.name
          ? { ...model.compare, summary }
          : model.compare;
      return {
        ...model,
        state: { ...state, current, runs: upsertSummary(state.runs, summary) },
        compare,
      };
    }
    case 'steps': {
      const last = msg.points[msg.points.length - 1];
      if (last === undefined) return model;
      const next = withCurrent(model, msg.run, (view) => ({
        ...view,
        summary: { ...view.summary, step: last.step },
        losses: appendLosses(view.losses, msg.points),
      }));
      if (next === model || !next.state) return model;
      const runs = next.state.runs.map((r) => (r.name === msg.run ? { ...r, step: last.step } : r));
      return { ...next, state: { ...next.state, runs } };
    }
    case 'samples':
      return withCurrent(model, msg.run, (view) => ({
        ...view,
        samples: [...view.samples.filter((s) => s.step !== msg.grid.step), msg.grid].sort(
          (a, b) => a.step - b.step,
        ),
      }));
    case 'gallery':
      return withCurrent(model, msg.run, (view) => ({ ...view, gallery: msg.gallery }));
    case 'diversity':
      return withCurrent(model, msg.run, (view) => ({ ...view, diversity: msg.diversity }));
    case 'log':
      return withCurrent(model, msg.run, (view) => ({
        ...view,
        log:
          view.log.length >= MAX_LOG_LINES
            ? [...view.log.slice(view.log.length - MAX_LOG_LINES + 1), msg.line]
            : [...view.log, msg.line],
      }));
    case 'training':
      return model.state ? { ...model, state: { ...model.state, training: msg.training } } : model;
    case 'runData': {
      const view = normalizeView(msg.view);
      if (msg.purpose === 'compare') {
        return view.summary.name === currentName(model.state) ? model : { ...model, compare: view };
      }
      if (!model.state) return model;
      return {
        ...model,
        state: {
          ...model.state,
          current: view,
          runs: upsertSummary(model.state.runs, view.summary),
        },
        compare: model.compare?.summary.name === view.summary.name ? null : model.compare,
      };
    }
    case 'generated': {
      const { view } = msg;
      const state = model.state
        ? { ...model.state, generated: [...model.state.generated, view] }
        : null;
      if (view.requestId === undefined) {
        return { ...model, state, transferSeq: model.transferSeq + 1 };
      }
      const answered = model.pending?.requestId === view.requestId;
      return {
        ...model,
        state,
        pending: answered ? null : model.pending,
        generateError: answered ? null : model.generateError,
      };
    }
    case 'tagSamples': {
      const { type: _type, ...view } = msg;
      const state = model.state
        ? {
            ...model.state,
            tagSamples: [view, ...model.state.tagSamples].slice(0, MAX_TAG_SAMPLES),
          }
        : null;
      const answered = model.tagPending?.requestId === view.requestId;
      return {
        ...model,
        state,
        tagPending: answered ? null : model.tagPending,
        tagError: answered ? null : model.tagError,
      };
    }
    case 'suggestedTags': {
      if (!model.state) return model;
      const suggestedTags = [msg.view, ...model.state.suggestedTags].slice(0, MAX_SUGGESTED_TAGS);
      return {
        ...model,
        state: { ...model.state, suggestedTags },
        suggestedSeq: model.suggestedSeq + 1,
      };
    }
    case 'generateFailed': {
      // Request ids come from one counter: a tag-sampling id is never a gallery one.
      if (msg.requestId !== undefined && model.tagPending?.requestId === msg.requestId) {
        return { ...model, tagPending: null, tagError: msg.message };
      }
      const answered = msg.requestId === undefined || model.pending?.requestId === msg.requestId;
      return {
        ...model,
        pending: answered ? null : model.pending,
        generateError: msg.message,
      };
    }
    default:
      return model;
  }
}

/** Records a generation the webview just asked for. */
export function requestGenerate(model: DashboardModel, pending: PendingGenerate): DashboardModel {
  return { ...model, pending, generateError: null };
}

/** Records a tag-sampling request the webview just sent. */
export function requestTagSamples(
  model: DashboardModel,
  pending: PendingTagSamples,
): DashboardModel {
  return { ...model, tagPending: pending, tagError: null };
}

/** Drops the compared run. */
export function clearCompare(model: DashboardModel): DashboardModel {
  return model.compare ? { ...model, compare: null } : model;
}

/** Mean of the similarities that are finite numbers; null when there are none. */
export function meanSimilarity(similarities: readonly number[]): number | null {
  const finite = similarities.filter((s) => Number.isFinite(s));
  if (finite.length === 0) return null;
  return finite.reduce((a, b) => a + b, 0) / finite.length;
}

/** Generations started outside the dashboard (from image files), newest first. */
export function transferViews(generated: readonly GeneratedView[]): GeneratedView[] {
  return generated.filter((g) => g.requestId === undefined).reverse();
}

/** The newest generation the dashboard requested for `run`. */
export function latestRequested(
  generated: readonly GeneratedView[],
  run: string,
): GeneratedView | undefined {
  for (let i = generated.length - 1; i >= 0; i--) {
    const g = generated[i] as GeneratedView;
    if (g.requestId !== undefined && g.run === run) return g;
  }
  return undefined;
}

/** Tag-sample grids of `run`, newest first (the first is the one shown). */
export function tagSamplesOf(samples: readonly TagSamplesView[], run: string): TagSamplesView[] {
  return samples.filter((s) => s.run === run);
}

/**
 * The picked tags a run can be asked for, in the vocabulary's order: a selection remembered from
 * another run (or an older vocabulary) keeps only the tags this run knows.
 */
export function pickableTags(tagNames: readonly string[], picked: readonly string[]): string[] {
  const chosen = new Set(picked);
  return tagNames.filter((t) => chosen.has(t));
}

export interface HeaderActions {
  train: boolean;
  stop: boolean;
  resume: boolean;
  /** Whether the buttons shown are enabled (false in an untrusted workspace). */
  enabled: boolean;
}

/** Which of Train / Stop / Resume the header shows. */
export function headerActions(state: DashboardState): HeaderActions {
  const current = state.current?.summary;
  return {
    train: !state.training,
    stop: state.training,
    resume:
      !state.training &&
      current !== undefined &&
      (current.status === 'stopped' || current.status === 'failed') &&
      current.hasCheckpoint,
    enabled: state.trusted,
  };
}
