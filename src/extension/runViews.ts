import * as path from 'node:path';
import { hasConditionInput, needsInstances } from '../core/models/modelCapabilities';
import { runEventText } from '../core/run/runEventText';
import { RUN_FILES } from '../core/run/runFolder';
import { readEvents } from '../core/run/eventLog';
import type { RunRecord } from '../core/run/runIndex';
import type {
  DiversityEvent,
  GalleryEvent,
  RunEvent,
  SamplesEvent,
  StepEvent,
} from '../protocol/runnerEvents';
import {
  MAX_LOG_LINES,
  type DiversityView,
  type GalleryView,
  type LossPoint,
  type RunSummary,
  type RunView,
  type SampleGrid,
} from '../protocol/webviewMessages';

/**
 * Turns run folders and runner events into what the dashboard shows. No VS Code import: the
 * host passes `toUri`, which makes a file loadable in the webview, so this is unit-testable.
 */

export type ToUri = (absolutePath: string) => string;

/** The most loss points sent for one run; longer histories are thinned evenly (the tail kept). */
export const MAX_LOSS_POINTS = 4000;

export function summaryOf(record: RunRecord): RunSummary {
  const { info } = record;
  return {
    name: record.name,
    status: info.status,
    model: info.model,
    step: info.step,
    totalSteps: info.totalSteps,
    backend: info.backend,
    startedAt: info.startedAt,
    updatedAt: info.updatedAt,
    ...(info.message !== undefined ? { message: info.message } : {}),
    hasCheckpoint: record.hasCheckpoint,
  };
}

export function lossPoint(e: StepEvent): LossPoint {
  return {
    step: e.step,
    dLoss: e.dLoss,
    gLoss: e.gLoss,
    dReal: e.dReal,
    dFake: e.dFake,
    imagesPerSec: e.imagesPerSec,
  };
}

export function sampleGrid(runDir: string, e: SamplesEvent, toUri: ToUri): SampleGrid {
  return {
    step: e.step,
    uri: toUri(path.join(runDir, e.file)),
    count: e.count,
    columns: e.columns,
  };
}

export function galleryView(runDir: string, e: GalleryEvent, toUri: ToUri): GalleryView {
  return {
    step: e.step,
    uri: toUri(path.join(runDir, e.file)),
    rows: e.rows,
    neighbours: e.rows[0]?.neighbours.length ?? 0,
    samplesPerRow: e.samplesPerRow,
  };
}

export function diversityView(e: DiversityEvent): DiversityView {
  return { step: e.step, median: e.median, groups: e.groups, collapsed: e.collapsed };
}

/** A log line for an event worth showing in the dashboard's log, else null. */
export function logLine(e: RunEvent): string | null {
  const text = runEventText(e);
  return text === null ? null : `${e.time.slice(11, 19)} ${text}`;
}

export function thinLosses(points: LossPoint[], max = MAX_LOSS_POINTS): LossPoint[] {
  if (points.length <= max) return points;
  const stride = Math.ceil(points.length / max);
  const last = points.length - 1;
  return points.filter((_, i) => (last - i) % stride === 0);
}

/** Everything the dashboard shows about a run, from its folder. Unreadable events give an empty view. */
export function buildRunView(record: RunRecord, toUri: ToUri): RunView {
  let events: RunEvent[] = [];
  try {
    events = readEvents(path.join(record.dir, RUN_FILES.events));
  } catch {
    // A missing or damaged log still shows the run's status from run.json.
  }
  const view: RunView = {
    summary: summaryOf(record),
    backend: null,
    classNames: [],
    instanceConditioned: needsInstances(record.info.model),
    tagNames: [],
    losses: [],
    samples: [],
    gallery: null,
    diversity: null,
    log: [],
  };
  for (const e of events) applyEvent(view, record.dir, e, toUri);
  view.losses = thinLosses(view.losses);
  return view;
}

/** Folds one event into a view (the same fold the live stream uses). */
export function applyEvent(view: RunView, runDir: string, e: RunEvent, toUri: ToUri): void {
  switch (e.type) {
    case 'run-started':
      view.backend = e.backend;
      // Only a class-conditional model can swap the class; the others ignore labels.
      view.classNames = hasConditionInput(e.model) ? (e.classNames ?? []) : [];
      // Runs from before tags existed have no tagNames: not tags-conditioned.
      view.tagNames = e.tagNames ?? [];
      view.instanceConditioned = e.instanceConditioned ?? view.instanceConditioned;
      // A resumed run replays from its checkpoint: drop the steps after it.
      view.losses = view.losses.filter((p) => p.step <= e.startStep);
      break;
    case 'step':
      view.losses.push(lossPoint(e));
      view.summary.step = e.step;
      break;
    case 'samples':
      view.samples = view.samples.filter((s) => s.step !== e.step);
      view.samples.push(sampleGrid(runDir, e, toUri));
      break;
    case 'gallery':
      view.gallery = galleryView(runDir, e, toUri);
      break;
    case 'diversity':
      view.diversity = diversityView(e);
      break;
    case 'run-ended':
      view.summary.status = e.status;
      view.summary.step = e.step;
      if (e.lastCheckpoint) view.summary.hasCheckpoint = true;
      break;
    case 'checkpoint':
      view.summary.hasCheckpoint = true;
      break;
    case 'log':
      break;
  }
  const line = logLine(e);
  if (line !== null) {
    view.log.push(line);
    if (view.log.length > MAX_LOG_LINES) view.log.splice(0, view.log.length - MAX_LOG_LINES);
  }
}
