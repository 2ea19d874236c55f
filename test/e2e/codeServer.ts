/**
 * End-to-end harness: a real VS Code workbench (code-server, Code 1.139) in headless Debian
 * chromium, driven by playwright-core. Install the pieces first with `bash test/e2e/setup.sh`;
 * run a test with `npx tsx test/e2e/<name>.e2e.ts`.
 *
 * Every run gets a fresh folder `.test-tmp/e2e/<time>-<pid>/` holding code-server's user data,
 * extensions, XDG folders, the browser profile and the logs, so nothing is written to the home
 * folder and runs never share state. TMPDIR and XDG_RUNTIME_DIR are the one exception: chromium
 * and code-server put Unix sockets there, and a socket path may not exceed 107 bytes, which a
 * checkout deep enough (CI's /check/work/main was) overflows. They get a short per-run folder
 * /tmp/icgan-e2e-XXXXXX instead, named in the run folder's `tmpdir.txt` and removed by stop().
 */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  chromium,
  type BrowserContext,
  type FrameLocator,
  type Locator,
  type Page,
} from 'playwright-core';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const E2E_CACHE = path.join(REPO_ROOT, '.cache', 'e2e');
export const NODE24_BIN = path.join(E2E_CACHE, 'node', 'bin');
export const CODE_SERVER_BIN = path.join(
  E2E_CACHE,
  'code-server',
  'node_modules',
  '.bin',
  'code-server',
);
export const CHROMIUM_BIN = '/usr/bin/chromium';
export const TEST_TMP = path.join(REPO_ROOT, '.test-tmp', 'e2e');
export const DEFAULT_SCREENSHOT_DIR = path.join(TEST_TMP, 'screenshots');

/** User settings that keep the workbench from blocking or distracting a test (see the notes). */
export const DEFAULT_SETTINGS: Readonly<Record<string, unknown>> = {
  'security.workspace.trust.enabled': false,
  'workbench.startupEditor': 'none',
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'chat.disableAIFeatures': true,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'extensions.ignoreRecommendations': true,
  'workbench.tips.enabled': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  // Test workspaces live inside this git repository: no "open the parent repository?" prompt.
  'git.openRepositoryInParentFolders': 'never',
};

/**
 * Creates a fresh workspace folder `.test-tmp/e2e/workspaces/<time>-<pid>/` with `files`
 * (relative path → content) and returns its absolute path.
 */
export function makeWorkspace(files: Record<string, string | Uint8Array>): string {
  const dir = path.join(TEST_TMP, 'workspaces', `${timestamp()}-${process.pid}`);
  for (const [relative, content] of Object.entries(files)) {
    const file = path.join(dir, relative);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
  }
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

export interface StartOptions {
  /** Folder to open (made absolute). */
  workspace: string;
  /** A .vsix to install with `code-server --install-extension` before the start. */
  vsix?: string;
  /** Extra user settings, merged over DEFAULT_SETTINGS. */
  settings?: Record<string, unknown>;
  /** Port on 127.0.0.1; a free one is picked when omitted. */
  port?: number;
  /** How long to wait for /healthz (ms, default 90 000). */
  startTimeoutMs?: number;
}

export interface CodeServer {
  url: string;
  port: number;
  /** Absolute workspace folder. */
  workspace: string;
  /** This run's folder (.test-tmp/e2e/<time>-<pid>/). */
  profileDir: string;
  userDataDir: string;
  extensionsDir: string;
  /** The file that code-server's stdout and stderr go to. */
  logFile: string;
  /** Environment the server runs with (Node 24 first on PATH, XDG_* in profileDir, TMPDIR short). */
  env: NodeJS.ProcessEnv;
  /** code-server's output so far. */
  logs(): string;
  /** Processes still alive that belong to this run (by process group or by profileDir in their environment). */
  processes(): ProcessInfo[];
  /** Kills the whole process group (TERM, then KILL) and throws if any process survives. */
  stop(): Promise<void>;
}

export interface ProcessInfo {
  pid: number;
  pgid: number;
  cmd: string;
}

function timestamp(): string {
  return new Date().toISOString().replace(/[:.]/g, '-');
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function requireInstalled(): void {
  const missing = [path.join(NODE24_BIN, 'node'), CODE_SERVER_BIN, CHROMIUM_BIN].filter(
    (p) => !fs.existsSync(p),
  );
  if (missing.length > 0) {
    throw new Error(`e2e pieces missing (${missing.join(', ')}): run bash test/e2e/setup.sh`);
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A copy of this process's environment without variables that would redirect code-server. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    // VSCODE_* (e.g. VSCODE_IPC_HOOK_CLI inside a VS Code terminal) makes code-server act as a
    // client of that other instance; NODE_OPTIONS may carry tsx's loader; npm_* come from npx.
    if (/^(VSCODE_|ELECTRON_|NODE_OPTIONS$|npm_|PASSWORD$|HASHED_PASSWORD$)/.test(key)) continue;
    env[key] = value;
  }
  return env;
}

/** All processes (reads /proc): pid, process group, and whether `marker` is in their environment. */
function listProcesses(marker?: string): (ProcessInfo & { marked: boolean })[] {
  const out: (ProcessInfo & { marked: boolean })[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      // pid (comm) state ppid pgrp ...: comm may hold spaces, so split after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z') continue; // zombies are gone, only waiting for their parent
      const pgid = Number(fields[2]);
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
      let marked = false;
      if (marker) {
        try {
          marked = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').includes(marker);
        } catch {
          // not readable: not ours
        }
        marked ||= cmd.includes(marker);
      }
      out.push({ pid, pgid, cmd, marked });
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

const liveServers = new Set<CodeServer>();
let exitHookInstalled = false;

/** Last resort: if the test process exits without stop(), kill what is left (synchronously). */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const server of liveServers) {
      for (const p of server.processes()) {
        try {
          process.kill(p.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => process.exit(signal === 'SIGINT' ? 130 : 143));
  }
}

/**
 * Removes all but the newest `keep` run folders (and test workspaces) under .test-tmp/e2e/
 * (about 14 MB each); E2E_KEEP_RUNS overrides the default of 10.
 */
export function pruneOldRuns(keep = Number(process.env.E2E_KEEP_RUNS ?? 10)): void {
  for (const parent of [TEST_TMP, path.join(TEST_TMP, 'workspaces')]) {
    if (!fs.existsSync(parent)) continue;
    const runs = fs
      .readdirSync(parent)
      .filter((name) => /^\d{4}-\d\d-\d\dT[\d-]+Z-\d+$/.test(name))
      .sort();
    for (const name of runs.slice(0, Math.max(0, runs.length - keep))) {
      fs.rmSync(path.join(parent, name), { recursive: true, force: true });
    }
  }
}

/** Longest socket name chromium puts under TMPDIR (org.chromium.Chromium.XXXXXX/SingletonSocket). */
const SOCKET_SUFFIX_BYTES = 'org.chromium.Chromium.XXXXXX/SingletonSocket'.length + 2;
/** sun_path is 108 bytes on Linux, one of them the terminating NUL. */
const MAX_SOCKET_PATH_BYTES = 107;

/** A fresh per-run TMPDIR short enough for the Unix sockets created in it (see the header). */
function shortSocketDir(): string {
  const base = fs.existsSync('/tmp') ? '/tmp' : os.tmpdir();
  const dir = fs.mkdtempSync(path.join(base, 'icgan-e2e-'));
  if (Buffer.byteLength(dir) + SOCKET_SUFFIX_BYTES > MAX_SOCKET_PATH_BYTES) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`temporary folder ${dir} is too long for Unix socket paths under it`);
  }
  return dir;
}

/** Starts code-server on a fresh profile and waits for /healthz. */
export async function startCodeServer(options: StartOptions): Promise<CodeServer> {
  requireInstalled();
  installExitHook();
  pruneOldRuns();
  const workspace = path.resolve(options.workspace);
  const profileDir = path.join(TEST_TMP, `${timestamp()}-${process.pid}`);
  const userDataDir = path.join(profileDir, 'user-data');
  const extensionsDir = path.join(profileDir, 'extensions');
  const logFile = path.join(profileDir, 'code-server.log');
  for (const dir of [userDataDir, extensionsDir, path.join(userDataDir, 'User')]) {
    fs.mkdirSync(dir, { recursive: true });
  }
  const tmpDir = shortSocketDir();
  fs.writeFileSync(path.join(profileDir, 'tmpdir.txt'), `${tmpDir}\n`);
  fs.writeFileSync(
    path.join(userDataDir, 'User', 'settings.json'),
    JSON.stringify({ ...DEFAULT_SETTINGS, ...options.settings }, null, 2),
  );

  const env: NodeJS.ProcessEnv = {
    ...cleanEnv(),
    PATH: `${NODE24_BIN}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    XDG_CONFIG_HOME: path.join(profileDir, 'xdg-config'),
    XDG_DATA_HOME: path.join(profileDir, 'xdg-data'),
    XDG_CACHE_HOME: path.join(profileDir, 'xdg-cache'),
    XDG_STATE_HOME: path.join(profileDir, 'xdg-state'),
    XDG_RUNTIME_DIR: tmpDir,
    TMPDIR: tmpDir,
  };
  const dirArgs = ['--user-data-dir', userDataDir, '--extensions-dir', extensionsDir];

  if (options.vsix) {
    const vsix = path.resolve(options.vsix);
    const output = execFileSync(CODE_SERVER_BIN, ['--install-extension', vsix, ...dirArgs], {
      env,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 120_000,
    });
    fs.writeFileSync(path.join(profileDir, 'install-extension.log'), output);
  }

  const port = options.port ?? (await freePort());
  const logFd = fs.openSync(logFile, 'a');
  // `setsid` gives code-server a session and process group of its own (pgid = its pid: a child
  // that is not a group leader makes setsid exec in place), so stop() can kill the whole tree.
  const child = spawn(
    'setsid',
    [
      CODE_SERVER_BIN,
      '--auth',
      'none',
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      '--ignore-last-opened',
      ...dirArgs,
      workspace,
    ],
    { env, cwd: workspace, stdio: ['ignore', logFd, logFd] },
  );
  fs.closeSync(logFd);
  const pgid = child.pid;
  if (pgid === undefined) throw new Error('could not spawn code-server (setsid)');
  let exited: string | undefined;
  child.on('exit', (code, signal) => (exited = `exited with ${signal ?? code}`));

  const url = `http://127.0.0.1:${port}`;
  const logs = () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '');
  const processes = (): ProcessInfo[] =>
    listProcesses(profileDir)
      .filter((p) => p.pgid === pgid || p.marked)
      .map(({ pid, pgid: group, cmd }) => ({ pid, pgid: group, cmd }));

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      const signalAll = (signal: NodeJS.Signals) => {
        try {
          process.kill(-pgid, signal);
        } catch {
          // group already empty
        }
        // Anything that left the group (a terminal's shell calls setsid) but runs with our TMPDIR.
        for (const p of processes()) {
          try {
            process.kill(p.pid, signal);
          } catch {
            // already gone
          }
        }
      };
      signalAll('SIGTERM');
      for (let i = 0; i < 50 && processes().length > 0; i++) await sleep(100);
      if (processes().length > 0) {
        signalAll('SIGKILL');
        for (let i = 0; i < 30 && processes().length > 0; i++) await sleep(100);
      }
      liveServers.delete(server);
      fs.rmSync(tmpDir, { recursive: true, force: true });
      const left = processes();
      if (left.length > 0) {
        throw new Error(
          `code-server processes left after stop: ${left.map((p) => `${p.pid} ${p.cmd}`).join('; ')}`,
        );
      }
    })());

  const server: CodeServer = {
    url,
    port,
    workspace,
    profileDir,
    userDataDir,
    extensionsDir,
    logFile,
    env,
    logs,
    processes,
    stop,
  };
  liveServers.add(server);

  const deadline = Date.now() + (options.startTimeoutMs ?? 90_000);
  for (;;) {
    if (exited) {
      await stop().catch(() => undefined);
      throw new Error(`code-server ${exited} before /healthz answered:\n${logs().slice(-3000)}`);
    }
    try {
      const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop().catch(() => undefined);
      throw new Error(`code-server /healthz did not answer in time:\n${logs().slice(-3000)}`);
    }
    await sleep(250);
  }
  return server;
}

export interface Workbench {
  context: BrowserContext;
  page: Page;
  /** Browser console errors and page errors seen so far. */
  consoleErrors: string[];
  close(): Promise<void>;
}

export interface WorkbenchOptions {
  /** Wait for the workbench (ms, default 90 000). */
  timeoutMs?: number;
  viewport?: { width: number; height: number };
}

/** Opens the server's workspace in headless chromium and waits for the workbench to be ready. */
export async function openWorkbench(
  server: CodeServer,
  options: WorkbenchOptions = {},
): Promise<Workbench> {
  const timeout = options.timeoutMs ?? 90_000;
  const browserDir = path.join(server.profileDir, 'browser');
  fs.mkdirSync(browserDir, { recursive: true });
  // playwright-core puts its artifacts folder in os.tmpdir() of this process.
  process.env.TMPDIR = server.env.TMPDIR;
  const context = await chromium.launchPersistentContext(browserDir, {
    executablePath: CHROMIUM_BIN,
    headless: true,
    viewport: options.viewport ?? { width: 1280, height: 800 },
    // Same XDG/TMPDIR as the server: chromium stays out of the home folder, and stop()'s
    // leftover check also sees a browser that was never closed.
    env: { ...server.env },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(30_000);
  const consoleErrors: string[] = [];
  const consoleLog = path.join(server.profileDir, 'browser-console.log');
  page.on('console', (message) => {
    fs.appendFileSync(consoleLog, `[${message.type()}] ${message.text()}\n`);
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => {
    fs.appendFileSync(consoleLog, `[pageerror] ${error.message}\n`);
    consoleErrors.push(error.message);
  });
  try {
    await page.goto(`${server.url}/?folder=${encodeURIComponent(server.workspace)}`, { timeout });
    await page.locator('.monaco-workbench .part.statusbar').waitFor({ state: 'visible', timeout });
    await page
      .locator('.monaco-workbench .part.activitybar')
      .waitFor({ state: 'visible', timeout });
  } catch (error) {
    await context.close().catch(() => undefined);
    throw error;
  }
  stepPage = page;
  return {
    context,
    page,
    consoleErrors,
    close: async () => {
      if (stepPage === page) stepPage = undefined;
      await context.close();
    },
  };
}

/** A regular expression that matches `text` exactly (whole string). */
function exactly(text: string): RegExp {
  return new RegExp(`^\\s*${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`);
}

const quickInput = (page: Page) => page.locator('.quick-input-widget');
const quickInputBox = (page: Page) => page.locator('.quick-input-widget .quick-input-box input');

/** Rows of the open quick input whose label is exactly `label`. */
function quickInputRow(page: Page, label: string): Locator {
  return page
    .locator('.quick-input-widget .monaco-list-row')
    .filter({ has: page.locator('.label-name', { hasText: exactly(label) }) });
}

async function closeQuickInput(page: Page): Promise<void> {
  if (await quickInput(page).isVisible()) {
    await page.keyboard.press('Escape');
    await quickInput(page)
      .waitFor({ state: 'hidden', timeout: 5000 })
      .catch(() => undefined);
  }
}

/**
 * Runs a command from the command palette by its exact title ("View: Toggle Word Wrap").
 * Contributed commands are not listed for a while after the workbench appears, and the palette
 * then shows fuzzy matches; so wait for the exact row, else Escape and try again. Resolves to
 * the number of palette attempts it took.
 */
export async function runCommand(
  page: Page,
  title: string,
  options: { timeoutMs?: number } = {},
): Promise<number> {
  const started = Date.now();
  const deadline = started + (options.timeoutMs ?? 60_000);
  let attempt = 0;
  for (;;) {
    attempt++;
    await closeQuickInput(page);
    await page.keyboard.press('F1');
    await quickInputBox(page).waitFor({ state: 'visible', timeout: 10_000 });
    await quickInputBox(page).fill(`>${title}`);
    const row = quickInputRow(page, title).first();
    try {
      await row.waitFor({
        state: 'visible',
        timeout: Math.max(100, Math.min(3000, deadline - Date.now())),
      });
      await row.click();
      await quickInput(page).waitFor({ state: 'hidden', timeout: 10_000 });
      if (attempt > 1) {
        console.log(
          `       runCommand: "${title}" listed after ${attempt} attempts (${seconds(Date.now() - started)})`,
        );
      }
      return attempt;
    } catch (error) {
      if (Date.now() + 500 >= deadline) {
        await closeQuickInput(page);
        throw new Error(
          `command "${title}" not found in the palette after ${attempt} attempts: ${String(error)}`,
        );
      }
      await closeQuickInput(page);
      await sleep(1000);
    }
  }
}

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

const contains = (outer: Box, x: number, y: number) =>
  x >= outer.x && x <= outer.x + outer.width && y >= outer.y && y <= outer.y + outer.height;

/**
 * Titles of what a webview at (x, y) is shown in: the active tab of the editor group there, or
 * the header of the view pane there (webview views in the side bar or panel). The webview
 * iframes themselves carry no title: they float in an overlay positioned over their editor.
 */
async function titlesAt(page: Page, x: number, y: number): Promise<string[]> {
  const titles: string[] = [];
  const groups = page.locator('.editor-group-container');
  for (let i = 0; i < (await groups.count()); i++) {
    const box = await groups.nth(i).boundingBox();
    if (box && contains(box, x, y)) {
      const tab = groups.nth(i).locator('.tab.active').first();
      if (await tab.count()) titles.push((await tab.textContent()) ?? '');
      const label = tab.locator('.monaco-icon-label').first();
      if (await label.count()) titles.push((await label.getAttribute('aria-label')) ?? '');
    }
  }
  const panes = page.locator('.pane');
  for (let i = 0; i < (await panes.count()); i++) {
    const box = await panes.nth(i).boundingBox();
    if (box && contains(box, x, y)) {
      titles.push((await panes.nth(i).locator('.pane-header').first().textContent()) ?? '');
    }
  }
  return titles;
}

/**
 * The content frame of a visible webview (`iframe.webview.ready` → `#active-frame`). Hidden
 * webviews (other tabs) are skipped. With several visible ones (split editors, a webview view),
 * pass `titleHint`: a part of the title of the editor tab (or view) that shows it, e.g. the
 * file name; without it the first visible webview is taken.
 */
export async function webviewFrame(
  page: Page,
  titleHint?: string,
  options: { timeoutMs?: number } = {},
): Promise<FrameLocator> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  const iframes = page.locator('iframe.webview.ready');
  for (;;) {
    const seen: { index: number; titles: string[] }[] = [];
    const count = await iframes.count();
    for (let i = 0; i < count; i++) {
      const frame = iframes.nth(i);
      if (!(await frame.isVisible().catch(() => false))) continue;
      const box = await frame.boundingBox().catch(() => null);
      if (!box || box.width < 2 || box.height < 2) continue;
      const titles = titleHint
        ? await titlesAt(page, box.x + box.width / 2, box.y + box.height / 2)
        : [];
      seen.push({ index: i, titles });
    }
    const chosen = titleHint
      ? seen.find((v) => v.titles.some((t) => t.includes(titleHint)))
      : seen[0];
    if (chosen) {
      return iframes.nth(chosen.index).contentFrame().locator('#active-frame').contentFrame();
    }
    if (Date.now() > deadline) {
      throw new Error(
        `no visible webview${titleHint ? ` shown under a title like "${titleHint}"` : ''} ` +
          `(${count} webview iframes; visible: ${JSON.stringify(seen)})`,
      );
    }
    await sleep(250);
  }
}

/** The active editor tab (`.tab.active` of the active editor group). */
export function activeTab(page: Page): Locator {
  return page.locator('.editor-group-container.active .tabs-container .tab.active');
}

/** Opens a workspace file with quick open (Ctrl+P) and waits for its tab to be active. */
export async function openFile(page: Page, relativePath: string): Promise<void> {
  const base = path.posix.basename(relativePath);
  const dir = path.posix.dirname(relativePath);
  await closeQuickInput(page);
  await page.keyboard.press('Control+P');
  await quickInputBox(page).waitFor({ state: 'visible', timeout: 10_000 });
  await quickInputBox(page).fill(relativePath);
  let row = quickInputRow(page, base);
  if (dir !== '.') {
    row = row.filter({ has: page.locator('.label-description', { hasText: dir }) });
  }
  await row.first().waitFor({ state: 'visible', timeout: 30_000 });
  await row.first().click();
  await quickInput(page).waitFor({ state: 'hidden', timeout: 10_000 });
  // A tab's label is split ("hello.icgan" + ".json" in .label-name/.label-suffix); its
  // .monaco-icon-label carries the full path as aria-label.
  await activeTab(page)
    .locator(`.monaco-icon-label[aria-label$=${JSON.stringify(`/${relativePath}`)}]`)
    .waitFor({ state: 'visible', timeout: 30_000 });
}

/** Shows the Explorer view (Ctrl+Shift+E only when it is not visible already). */
export async function showExplorer(page: Page): Promise<void> {
  const tree = page.locator('.explorer-folders-view');
  if (!(await tree.isVisible())) {
    await page.keyboard.press('Control+Shift+E');
    await tree.waitFor({ state: 'visible', timeout: 10_000 });
  }
}

/** The row of `fileName` (a name shown in the tree, e.g. "pic.png") in the Explorer. */
export function explorerRow(page: Page, fileName: string): Locator {
  return page
    .locator('.explorer-folders-view .monaco-list-row')
    .filter({ has: page.locator('.label-name', { hasText: exactly(fileName) }) })
    .first();
}

/** The open context menu (a DOM menu in code-server; Playwright's CSS pierces its shadow root). */
export function contextMenu(page: Page): Locator {
  return page.locator('.context-view .monaco-menu');
}

/** Items of the open context menu whose label is exactly `label`. */
export function contextMenuItem(page: Page, label: string): Locator {
  return contextMenu(page)
    .locator('.action-item:not(.disabled) .action-label')
    .filter({ hasText: exactly(label) });
}

/**
 * Right-clicks `fileName` in the Explorer (it must be visible in the tree, i.e. at the top level
 * or in an expanded folder) and clicks the context-menu item labelled exactly `menuItemLabel`.
 * Pass `menuItemLabel: null` to leave the menu open (e.g. to inspect it); returns the menu.
 */
export async function explorerContextMenu(
  page: Page,
  fileName: string,
  menuItemLabel: string | null,
): Promise<Locator> {
  await showExplorer(page);
  const row = explorerRow(page, fileName);
  await row.waitFor({ state: 'visible', timeout: 30_000 });
  await row.click({ button: 'right' });
  const menu = contextMenu(page);
  await menu.waitFor({ state: 'visible', timeout: 10_000 });
  if (menuItemLabel !== null) {
    const item = contextMenuItem(page, menuItemLabel).first();
    await item.waitFor({ state: 'visible', timeout: 10_000 });
    // Trap: a monaco menu ignores mouse-ups for its first 100 ms (so the right-click's own
    // mouse-up does not pick an item); a click straight after it opens does nothing.
    await sleep(300);
    await item.click();
    if (
      !(await menu.waitFor({ state: 'hidden', timeout: 2000 }).then(
        () => true,
        () => false,
      ))
    ) {
      await item.hover();
      await page.keyboard.press('Enter');
      await menu.waitFor({ state: 'hidden', timeout: 10_000 });
    }
  }
  return menu;
}

/** Lists the labels of the open context menu's enabled items. */
export async function contextMenuLabels(page: Page): Promise<string[]> {
  const labels = await contextMenu(page)
    .locator('.action-item:not(.disabled) .action-label')
    .allTextContents();
  return labels.map((l) => l.trim()).filter((l) => l.length > 0);
}

/** The visible editor hover widget. */
export function hoverWidget(page: Page): Locator {
  return page.locator('.monaco-hover:not(.hidden)').filter({ visible: true });
}

/**
 * Moves the mouse over the first occurrence of `text` in the active editor's visible lines and
 * returns the hover widget locator (`.monaco-hover`), after waiting for it to show. Some words
 * have no hover (plain text; JSON without a schema): then this throws after `timeoutMs`, unless
 * `{ expectHover: false }`, which only hovers and returns the locator.
 */
export async function hoverEditorText(
  page: Page,
  text: string,
  options: { timeoutMs?: number; expectHover?: boolean } = {},
): Promise<Locator> {
  const lines = page.locator('.editor-group-container.active .monaco-editor .view-lines').first();
  await lines.waitFor({ state: 'visible', timeout: 30_000 });
  const line = lines.locator('.view-line').filter({ hasText: text }).first();
  await line.waitFor({ state: 'visible', timeout: 30_000 });
  // Monaco renders a line as `.view-line > span > span` tokens; the text may lie inside one token
  // or across several. Find the token holding the middle character of `text` and aim at that
  // character (tokens are monospace, so offsets inside a token are proportional).
  const tokens = line.locator(':scope > span > span');
  const texts = (await tokens.allTextContents()).map((t) => t.replace(/\u00a0/g, ' '));
  const all = texts.join('');
  const at = all.indexOf(text);
  let point: { x: number; y: number } | undefined;
  if (at >= 0) {
    const middle = at + Math.floor(text.length / 2);
    let start = 0;
    for (let i = 0; i < texts.length; i++) {
      const length = texts[i]?.length ?? 0;
      if (middle < start + length) {
        const box = await tokens.nth(i).boundingBox();
        if (box) {
          point = {
            x: box.x + (box.width * (middle - start + 0.5)) / length,
            y: box.y + box.height / 2,
          };
        }
        break;
      }
      start += length;
    }
  }
  if (!point) throw new Error(`text "${text}" not found in the active editor`);
  // Move in from elsewhere so the editor sees a mouse move onto the text.
  await page.mouse.move(point.x, point.y + 60);
  await page.mouse.move(point.x, point.y, { steps: 5 });
  const hover = hoverWidget(page);
  if (options.expectHover !== false) {
    await hover.first().waitFor({ state: 'visible', timeout: options.timeoutMs ?? 15_000 });
  }
  return hover;
}

// ---- steps and reporting -----------------------------------------------------------------------

let stepPage: Page | undefined;
let screenshotDir = DEFAULT_SCREENSHOT_DIR;
let passed = 0;
let failed = 0;
let stepNumber = 0;
const cleanups: (() => Promise<void> | void)[] = [];

/** Where step() and screenshot() put PNGs (default .test-tmp/e2e/screenshots/). */
export function setScreenshotDir(dir: string): void {
  screenshotDir = path.resolve(dir);
}

/** The page step() screenshots (set by openWorkbench; undefined: no screenshots). */
export function setStepPage(page: Page | undefined): void {
  stepPage = page;
}

/** Saves a full-page PNG as `<dir>/<name>.png` and returns its path. */
export async function screenshot(page: Page, name: string, dir = screenshotDir): Promise<string> {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name.replace(/[^\w.-]+/g, '-').replace(/^-|-$/g, '')}.png`);
  await page.screenshot({ path: file, timeout: 15_000 });
  return file;
}

/**
 * Runs one step: records pass/fail, prints `ok`/`FAIL` with its time, and takes a screenshot
 * afterwards (pass or fail) of the workbench page, as `<NN>-<name>.png`. Returns whether it
 * passed; the step's error is printed, not thrown.
 */
export async function step(
  name: string,
  fn: () => Promise<unknown> | unknown,
  options: { timeoutMs?: number } = {},
): Promise<boolean> {
  const number = String(++stepNumber).padStart(2, '0');
  const started = Date.now();
  let error: unknown;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      Promise.resolve().then(fn),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`step timed out after ${seconds(options.timeoutMs ?? 120_000)}`)),
          options.timeoutMs ?? 120_000,
        );
      }),
    ]);
  } catch (e) {
    error = e;
  } finally {
    clearTimeout(timer);
  }
  const took = Date.now() - started;
  if (stepPage && !stepPage.isClosed()) {
    await screenshot(stepPage, `${number}-${name}`).catch(() => undefined);
  }
  if (error === undefined) {
    passed++;
    console.log(`  ok   ${number} ${name} (${seconds(took)})`);
    return true;
  }
  failed++;
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  console.log(`  FAIL ${number} ${name} (${seconds(took)})\n${message.replace(/^/gm, '       ')}`);
  return false;
}

/** Registers clean-up (closing the browser, stopping the server) for runE2E, run last-in first-out. */
export function onCleanup(fn: () => Promise<void> | void): void {
  cleanups.push(fn);
}

/**
 * Runs a test: `main`, then the clean-ups; an error thrown outside a step, or by a clean-up,
 * counts as one failure. Prints exactly one summary line `e2e: N passed, N failed` and sets a
 * non-zero exit code when anything failed (or when no step ran).
 */
export async function runE2E(main: () => Promise<void>): Promise<void> {
  const started = Date.now();
  try {
    await main();
  } catch (error) {
    failed++;
    console.log(`  FAIL (outside a step) ${error instanceof Error ? error.stack : String(error)}`);
  }
  while (cleanups.length > 0) {
    const cleanup = cleanups.pop();
    try {
      await cleanup?.();
    } catch (error) {
      failed++;
      console.log(`  FAIL (clean-up) ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  console.log(`  total ${seconds(Date.now() - started)}; screenshots in ${screenshotDir}`);
  console.log(`e2e: ${passed} passed, ${failed} failed`);
  process.exitCode = failed > 0 || passed === 0 ? 1 : 0;
}
