/**
 * Entry point of the dashboard webview (bundled into dist/webview.js). Says `ready`, folds the
 * host's messages into the model (dashboardModel.ts) and renders from it at most once per
 * animation frame. UI choices (tab, smoothing, selections, generation settings) persist through
 * vscode.setState, so a panel rebuilt after being hidden comes back as it was; the data comes back
 * from the host's `state`.
 */
import './elements';
import type { HostToWebview, WebviewToHost } from '../src/protocol/webviewMessages';
import {
  clearCompare,
  initialModel,
  isHostMessage,
  latestRequested,
  reduce,
  requestGenerate,
  requestTagSamples,
  tagSamplesOf,
  type DashboardModel,
} from './dashboardModel';
import { el, formatNumber, setText, show } from './dom';
import { GalleryPanel, type GenerateRequest } from './galleryView';
import { randomSeed } from './sampleControls';
import { Header } from './header';
import { LogView } from './logView';
import { LossCharts } from './lossCharts';
import { RunsView } from './runsView';
import { SamplesView } from './samplesView';
import { MAX_SMOOTHING } from './smoothing';
import { SuggestedTagsList } from './suggestedTagsView';
import { TagPicker, type TagSampleRequest } from './tagPicker';
import { onThemeChange } from './theme';
import { TransferView } from './transferView';
import { restoreUiState, TABS, type TabId, type UiState } from './uiState';
import { getVsCodeApi } from './vscodeApi';

const vscode = getVsCodeApi();
let model: DashboardModel = initialModel;
let ui: UiState = restoreUiState(vscode.getState(), randomSeed());
let restored = false;
/** A suggestion arrived from the Explorer: show it once rendered. */
let revealSuggestion = false;

const post = (message: WebviewToHost): void => vscode.postMessage(message);

function setUi(patch: Partial<UiState>): void {
  ui = { ...ui, ...patch };
  vscode.setState(ui);
  schedule();
}

let scheduled = false;
function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(() => {
    scheduled = false;
    render();
  });
}

// ---- Layout ------------------------------------------------------------------------------

const header = new Header(post);
const charts = new LossCharts();
const samples = new SamplesView((step) => setUi({ sampleStep: step }));
const gallery = new GalleryPanel({
  select: (instance) => setUi({ galleryInstance: instance }),
  settings: (patch) => setUi(patch),
  generate,
});
const transfers = new TransferView();
const tagPicker = new TagPicker({ settings: (patch) => setUi(patch), generate: sampleTags });
const suggestions = new SuggestedTagsList();
const runs = new RunsView((run) => {
  setUi({ shownRun: run, sampleStep: null });
  post({ type: 'loadRun', run, purpose: 'show' });
  selectTab('losses');
});
const log = new LogView();
gallery.restore(ui);
tagPicker.restore(ui);

const smoothing = el('input', {
  class: 'smoothing-input',
  attrs: { type: 'range', min: 0, max: MAX_SMOOTHING, step: 0.01, 'aria-label': 'Smoothing' },
});
smoothing.value = String(ui.smoothing);
const smoothingValue = el('span', { class: 'smoothing-value', text: ui.smoothing.toFixed(2) });
smoothing.addEventListener('input', () => {
  const value = Number(smoothing.value);
  setText(smoothingValue, value.toFixed(2));
  setUi({ smoothing: value });
});

const compareSelect = el('vscode-single-select', {
  class: 'compare-select',
  attrs: { 'aria-label': 'Compare with run' },
});
let compareOptionsKey = '';
compareSelect.addEventListener('change', () => {
  const run = compareSelect.value;
  if (!run) {
    model = clearCompare(model);
    setUi({ compareRun: null });
  } else if (run !== ui.compareRun) {
    setUi({ compareRun: run });
    post({ type: 'loadRun', run, purpose: 'compare' });
  }
});

const lossesEmpty = el('div', { class: 'empty-state', text: 'No runs yet — Train starts one.' });
const lossesBody = el(
  'div',
  { class: 'losses-body' },
  el(
    'div',
    { class: 'losses-toolbar' },
    el(
      'label',
      { class: 'field' },
      el('span', { class: 'field-label', text: 'Smoothing' }),
      smoothing,
      smoothingValue,
    ),
    el(
      'label',
      { class: 'field' },
      el('span', { class: 'field-label', text: 'Compare with' }),
      compareSelect,
    ),
  ),
  charts.element,
);
const losses = el('section', { class: 'losses' }, lossesEmpty, lossesBody);

const panels: Record<TabId, HTMLElement> = {
  losses,
  samples: samples.element,
  gallery: gallery.element,
  generated: transfers.element,
  tags: el(
    'section',
    { class: 'tags' },
    tagPicker.element,
    el('vscode-divider'),
    suggestions.element,
  ),
  runs: runs.element,
  log: log.element,
};

const tabs = el('vscode-tabs', { class: 'dash-tabs' });
for (const tab of TABS) {
  tabs.appendChild(
    el(
      'vscode-tab-header',
      { class: `tab-header tab-${tab.id}`, attrs: { 'data-tab': tab.id } },
      tab.label,
    ),
  );
}
for (const tab of TABS) {
  tabs.appendChild(
    el(
      'vscode-tab-panel',
      { class: `tab-panel panel-${tab.id}`, attrs: { 'data-tab': tab.id } },
      panels[tab.id],
    ),
  );
}
const tabIndex = (id: TabId): number => TABS.findIndex((t) => t.id === id);
tabs.setAttribute('selected-index', String(tabIndex(ui.tab)));
tabs.addEventListener('vsc-tabs-select', (e) => {
  const tab = TABS[e.detail.selectedIndex];
  if (tab && tab.id !== ui.tab) setUi({ tab: tab.id });
});

function selectTab(id: TabId): void {
  tabs.setAttribute('selected-index', String(tabIndex(id)));
  if (ui.tab !== id) setUi({ tab: id });
}

const loading = el(
  'div',
  { class: 'loading' },
  el('vscode-progress-ring'),
  el('span', { text: 'Loading the dashboard…' }),
);

const app = document.getElementById('app') ?? document.body.appendChild(el('div'));
app.classList.add('dashboard');
app.replaceChildren(header.element, loading, tabs);

// ---- Actions ------------------------------------------------------------------------------

function generate(request: GenerateRequest): void {
  const run = model.state?.current?.summary.name;
  if (!run || model.pending || !model.state?.trusted) return;
  const requestId = ui.nextRequestId;
  setUi({ nextRequestId: requestId + 1 });
  model = requestGenerate(model, { requestId, run, instance: request.instance });
  post({
    type: 'generate',
    requestId,
    run,
    instance: request.instance,
    seed: request.seed,
    truncation: request.truncation,
    ...(request.className !== undefined ? { className: request.className } : {}),
    count: request.count,
  });
}

function sampleTags(request: TagSampleRequest): void {
  const run = model.state?.current?.summary.name;
  if (!run || model.tagPending || !model.state?.trusted) return;
  const requestId = ui.nextRequestId;
  setUi({ nextRequestId: requestId + 1 });
  model = requestTagSamples(model, { requestId, run });
  post({ type: 'sampleTags', requestId, run, ...request });
}

/** Re-asks for what the user was looking at before the webview was rebuilt. */
function restoreRequests(): void {
  const state = model.state;
  if (restored || !state) return;
  restored = true;
  const names = new Set(state.runs.map((r) => r.name));
  const current = state.current?.summary.name ?? null;
  let shown = current;
  if (ui.shownRun && ui.shownRun !== current && names.has(ui.shownRun)) {
    post({ type: 'loadRun', run: ui.shownRun, purpose: 'show' });
    shown = ui.shownRun;
  } else if (ui.shownRun !== null && ui.shownRun !== current) {
    setUi({ shownRun: null });
  }
  if (ui.compareRun && ui.compareRun !== shown && names.has(ui.compareRun)) {
    post({ type: 'loadRun', run: ui.compareRun, purpose: 'compare' });
  } else if (ui.compareRun !== null) {
    setUi({ compareRun: null });
  }
}

function onHostMessage(message: HostToWebview): void {
  const before = model;
  model = reduce(model, message);
  switch (message.type) {
    case 'state':
      if (ui.configPath !== message.state.configPath) {
        setUi({ configPath: message.state.configPath });
      }
      restoreRequests();
      break;
    case 'run':
      // A new (or resumed) run took over the panel: follow it.
      setUi({ shownRun: null, sampleStep: null });
      break;
    case 'runData':
      if (message.purpose === 'show') setUi({ sampleStep: null });
      break;
    default:
      break;
  }
  const current = model.state?.current?.summary.name ?? null;
  if (ui.compareRun !== null && ui.compareRun === current) setUi({ compareRun: null });
  if (model.transferSeq !== before.transferSeq) selectTab('generated');
  if (model.suggestedSeq !== before.suggestedSeq) {
    selectTab('tags');
    revealSuggestion = true;
  }
  schedule();
}

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  if (isHostMessage(event.data)) onHostMessage(event.data);
});

onThemeChange(() => charts.retheme());

// ---- Rendering ------------------------------------------------------------------------------

function updateCompareSelect(): void {
  const state = model.state;
  const current = state?.current?.summary.name ?? null;
  const others = (state?.runs ?? []).filter((r) => r.name !== current).map((r) => r.name);
  const selected = ui.compareRun !== null && others.includes(ui.compareRun) ? ui.compareRun : '';
  const key = JSON.stringify([others, selected]);
  if (key === compareOptionsKey) return;
  compareOptionsKey = key;
  const option = (value: string, label: string) =>
    el('vscode-option', { text: label, attrs: { value, selected: value === selected } });
  compareSelect.replaceChildren(option('', 'none'), ...others.map((name) => option(name, name)));
  if (others.length === 0) compareSelect.setAttribute('disabled', '');
  else compareSelect.removeAttribute('disabled');
}

function render(): void {
  const state = model.state;
  const current = state?.current ?? null;
  show(loading, state === null);
  show(tabs, state !== null);
  const last = current?.losses[current.losses.length - 1];
  header.update(state, last ? last.imagesPerSec : null);
  if (!state) return;

  show(lossesEmpty, current === null || current.losses.length === 0);
  setText(
    lossesEmpty,
    current === null
      ? 'No runs yet — Train starts one.'
      : `No steps logged yet for ${current.summary.name} (step ${formatNumber(current.summary.step)}).`,
  );
  show(lossesBody, current !== null);
  updateCompareSelect();
  // Hidden charts would measure 0 wide; they catch up (appending) when their tab is shown.
  if (ui.tab === 'losses') charts.update(current, model.compare, ui.smoothing);
  samples.update(current ? current.samples : null, ui.sampleStep, current?.diversity ?? null);
  gallery.update({
    view: current,
    trusted: state.trusted,
    ui,
    pending: model.pending,
    error: model.generateError,
    result: current ? latestRequested(state.generated, current.summary.name) : undefined,
  });
  transfers.update(state.generated);
  tagPicker.update({
    view: current,
    trusted: state.trusted,
    ui,
    pending: model.tagPending,
    error: model.tagError,
    samples: current ? tagSamplesOf(state.tagSamples, current.summary.name) : [],
  });
  suggestions.update(state.suggestedTags);
  if (revealSuggestion) {
    revealSuggestion = false;
    suggestions.revealNewest();
  }
  runs.update(state.runs, current?.summary.name ?? null, model.compare?.summary.name ?? null);
  log.update(current ? current.log : null);
}

render();
post({ type: 'ready' });
