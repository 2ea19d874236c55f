/**
 * End to end, in a real VS Code (code-server 4.139 in headless Chromium): installs the packaged
 * .vsix, opens a workspace, trains a tiny tags-conditioned IC-GAN from the command palette, watches
 * the dashboard's loss chart and samples arrive, hovers the config for its preview, generates from
 * an image via the explorer's context menu, samples from picked tags in the dashboard, asks for
 * an image's tags from the context menu, and stops the training. A screenshot follows every step.
 * Run: `npm run test:e2e` (set-up, package, this), or `npx tsx test/e2e/extension.e2e.ts` after.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Locator } from 'playwright-core';
import sharp from 'sharp';
import {
  explorerContextMenu,
  hoverEditorText,
  makeWorkspace,
  onCleanup,
  openFile,
  openWorkbench,
  REPO_ROOT,
  runCommand,
  runE2E,
  startCodeServer,
  step,
  TEST_TMP,
  webviewFrame,
  type CodeServer,
  type Workbench,
} from './codeServer';

const VSIX = path.join(REPO_ROOT, 'icgan-studio-linux-x64.vsix');
const CONFIG = 'tiny.icgan.json';

/**
 * A config that trains fast enough to show everything within seconds, and runs until stopped.
 * Conditioned on the shapes' tags, so the dashboard offers its tag picker; a short tagger
 * training keeps Suggest Tags' first request to seconds.
 */
const TINY_CONFIG = {
  seed: 3,
  data: { source: 'shapes', count: 512, resolution: 16 },
  model: { type: 'icgan-class', condition: 'tags', zDim: 16, gWidth: 8, dWidth: 8, embedDim: 8 },
  training: { steps: 1000000, batchSize: 8, logEvery: 1 },
  samples: { every: 20, count: 16 },
  checkpoints: { every: 20, keep: 2 },
  instances: {
    k: 3,
    representatives: 3,
    galleryEvery: 40,
    gallerySamples: 3,
    features: { kind: 'pixels', pcaDim: 16 },
  },
  tagging: { steps: 300 },
};

async function photo(): Promise<Buffer> {
  // An image the run never saw: a red disc on a blue background.
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="48" height="48"><rect width="48" height="48" fill="#2040c0"/><circle cx="24" cy="24" r="14" fill="#e02020"/></svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

/** Waits until an <img> has decoded (naturalWidth > 0); returns the width, 0 on timeout. */
async function naturalWidth(img: Locator, timeoutMs = 15_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const width = await img.evaluate(
      (el) => (el as unknown as { complete: boolean; naturalWidth: number }).naturalWidth,
    );
    if (width > 0 || Date.now() > deadline) return width;
    await new Promise((r) => setTimeout(r, 200));
  }
}

function rssMiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

function findFile(dir: string, name: string): string | undefined {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      const found = findFile(p, name);
      if (found) return found;
    } else if (entry.name === name) return p;
  }
  return undefined;
}

const metrics: Record<string, unknown> = {};

void runE2E(async () => {
  if (!fs.existsSync(VSIX)) throw new Error(`${VSIX} is missing: run \`npm run package\` first`);
  const workspace = makeWorkspace({
    [CONFIG]: `${JSON.stringify(TINY_CONFIG, null, 2)}\n`,
    'photo.png': await photo(),
  });

  let server: CodeServer | undefined;
  let workbench: Workbench | undefined;
  onCleanup(async () => {
    await workbench?.close();
  });

  if (
    !(await step('start code-server with the packaged extension', async () => {
      server = await startCodeServer({ workspace, vsix: VSIX });
    }))
  )
    return;
  const srv = server as CodeServer;
  onCleanup(() => srv.stop());
  if (!(await step('open the workbench', async () => (workbench = await openWorkbench(srv)))))
    return;
  const page = (workbench as Workbench).page;

  await step('open the config', async () => {
    await openFile(page, CONFIG);
    // The extension activated on the workspace's *.icgan.json: the host's memory before training.
    const host = srv.processes().find((p) => /extensionHost/.test(p.cmd));
    if (host) metrics.extensionHostRssBeforeTrainingMiB = Math.round(rssMiB(host.pid));
  });

  const trained = await step('IC-GAN: Train from the command palette', () =>
    runCommand(page, 'IC-GAN: Train'),
  );
  if (!trained) return;

  await step(
    'dashboard: loss chart, backend and a sample grid appear',
    async () => {
      const t0 = Date.now();
      const lap = (what: string): void => console.log(`       ${what}: ${Date.now() - t0} ms`);
      const frame = await webviewFrame(page, 'IC-GAN: tiny', { timeoutMs: 60_000 });
      lap('dashboard webview');
      await frame
        .locator('.loss-chart canvas')
        .first()
        .waitFor({ state: 'visible', timeout: 90_000 });
      lap('loss chart');
      await frame.locator('.run-backend', { hasText: 'wasm' }).waitFor({ timeout: 60_000 });
      lap('backend shown');
      await frame.locator('vscode-tab-header.tab-samples').click();
      const grid = frame.locator('img.sample-grid').first();
      await grid.waitFor({ state: 'visible', timeout: 90_000 });
      lap('sample grid');
      const width = await naturalWidth(grid);
      if (!(width > 0)) throw new Error('the sample grid did not load');
      await frame.locator('vscode-tab-header.tab-losses').click();
    },
    { timeoutMs: 180_000 },
  );

  await step('extension host memory with a run in progress (TensorFlow stays out of it)', () => {
    const procs = srv.processes();
    const host = procs.find((p) => /extensionHost/.test(p.cmd));
    const runner = procs.find((p) => /dist\/runner\.js/.test(p.cmd));
    if (!host || !runner) throw new Error(`processes: ${procs.map((p) => p.cmd).join(' | ')}`);
    metrics.extensionHostRssMiB = Math.round(rssMiB(host.pid));
    metrics.runnerRssMiB = Math.round(rssMiB(runner.pid));
    const maps = fs.readFileSync(`/proc/${host.pid}/maps`, 'utf8');
    metrics.extensionHostMapsTensorFlow = /tfjs|tensorflow|sharp/.test(maps);
    if (metrics.extensionHostMapsTensorFlow) throw new Error('the extension host mapped TF/sharp');
    console.log(
      `       extension host ${metrics.extensionHostRssMiB} MiB, runner ${metrics.runnerRssMiB} MiB`,
    );
  });

  await step('hover the config: latest samples preview', async () => {
    await page.locator('.tabs-container .tab').filter({ hasText: CONFIG }).first().click();
    await page.mouse.move(5, 400);
    const hover = await hoverEditorText(page, '"seed"', { timeoutMs: 30_000 });
    const img = hover.locator('img[src^="data:image/png"]').first();
    await img.waitFor({ state: 'visible', timeout: 20_000 });
    const width = await naturalWidth(img);
    if (!(width > 0)) throw new Error('the preview image did not load');
    await hover.getByText('Open Dashboard').first().waitFor();
  });

  await step(
    'explorer: Generate from Image on photo.png shows generated images',
    async () => {
      await page.keyboard.press('Escape');
      await page.mouse.move(5, 400);
      await explorerContextMenu(page, 'photo.png', 'Generate from Image');
      const frame = await webviewFrame(page, 'IC-GAN: tiny', { timeoutMs: 60_000 });
      const grid = frame.locator('.transfer-item img.generated-grid').first();
      await grid.waitFor({ state: 'visible', timeout: 120_000 });
      const width = await naturalWidth(grid);
      if (!(width > 0)) throw new Error('the generated grid did not load');
      await frame.locator('img.neighbours-strip').first().waitFor({ state: 'visible' });
      const generated = fs
        .readdirSync(path.join(workspace, 'runs'))
        .map((run) => path.join(workspace, 'runs', run, 'generated'))
        .filter((d) => fs.existsSync(d));
      if (generated.length === 0) throw new Error('nothing saved under <run>/generated');
    },
    { timeoutMs: 180_000 },
  );

  await step(
    'gallery: an instance, its neighbours, and samples generated from it',
    async () => {
      const frame = await webviewFrame(page, 'IC-GAN: tiny', { timeoutMs: 60_000 });
      await frame.locator('vscode-tab-header.tab-gallery').click();
      await frame.locator('canvas.gallery-canvas').first().waitFor({ state: 'visible' });
      await frame.locator('vscode-button.btn-generate').first().click();
      const grid = frame.locator('.generate-result img.generated-grid').first();
      await grid.waitFor({ state: 'visible', timeout: 60_000 });
      if (!((await naturalWidth(grid)) > 0)) throw new Error('the generated grid did not load');
    },
    { timeoutMs: 120_000 },
  );

  await step(
    'tags: pick a colour and a shape, Generate, and see the grid',
    async () => {
      const frame = await webviewFrame(page, 'IC-GAN: tiny', { timeoutMs: 60_000 });
      await frame.locator('vscode-tab-header.tab-tags').click();
      const select = frame.locator('vscode-multi-select.tag-select');
      await select.waitFor({ state: 'visible', timeout: 30_000 });
      // The select's dropdown lives in its shadow root (Playwright's CSS pierces it).
      await select.locator('.select-face').click();
      for (const tag of ['blue', 'circle']) {
        await select.locator('li.option', { hasText: new RegExp(`^\\s*${tag}\\s*$`) }).click();
      }
      // Light dismiss: the dropdown is a popover that closes on a click outside it.
      await frame.locator('.tag-sampler h3').click();
      await select.locator('.dropdown.open').waitFor({ state: 'hidden', timeout: 10_000 });
      await frame.locator('.picked-tags', { hasText: 'blue + circle' }).waitFor();
      await frame.locator('vscode-button.btn-tag-generate:not([disabled])').click();
      const grid = frame.locator('img.tag-samples-grid');
      await grid.waitFor({ state: 'visible', timeout: 60_000 });
      if (!((await naturalWidth(grid)) > 0)) throw new Error('the tag-sample grid did not load');
      await frame.locator('.tag-samples-result', { hasText: 'blue + circle' }).waitFor();
      const files = fs
        .readdirSync(path.join(workspace, 'runs'))
        .flatMap((run) => {
          const dir = path.join(workspace, 'runs', run, 'samples');
          return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
        })
        .filter((f) => f.startsWith('tags-'));
      if (files.length === 0) throw new Error('no tags-*.png under <run>/samples');
    },
    { timeoutMs: 120_000 },
  );

  await step(
    'explorer: Suggest Tags on photo.png lists tags in the dashboard and a notification',
    async () => {
      await page.keyboard.press('Escape');
      await page.mouse.move(5, 400);
      await explorerContextMenu(page, 'photo.png', 'Suggest Tags');
      const frame = await webviewFrame(page, 'IC-GAN: tiny', { timeoutMs: 60_000 });
      const entry = frame.locator('.suggested-tags', { hasText: 'photo.png' }).first();
      // The first request trains the run's tagger (tagging.steps 300: seconds).
      await entry.waitFor({ state: 'visible', timeout: 150_000 });
      const tags = await entry.locator('.suggested-tag').count();
      if (tags < 1) throw new Error('the suggestion lists no tags');
      // The dashboard scrolls the new entry into view (it sits below the tag-sample grid).
      type Box = { getBoundingClientRect(): { top: number; bottom: number } };
      const inView = (): Promise<boolean> =>
        entry.evaluate((el) => {
          const r = (el as unknown as Box).getBoundingClientRect();
          const height = (globalThis as unknown as { innerHeight: number }).innerHeight;
          return r.bottom > 0 && r.top < height;
        });
      const deadline = Date.now() + 5000;
      while (!(await inView()) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
      }
      if (!(await inView())) throw new Error('the new suggestion was not scrolled into view');
      const toast = page
        .locator('.notifications-toasts .notification-toast')
        .filter({ hasText: 'Suggested tags for' })
        .first();
      await toast.waitFor({ state: 'visible', timeout: 30_000 });
      await toast.getByRole('button', { name: 'Copy Tags' }).waitFor();
    },
    { timeoutMs: 180_000 },
  );

  await step(
    'IC-GAN: Stop Training checkpoints and ends the runner',
    async () => {
      await runCommand(page, 'IC-GAN: Stop Training');
      const frame = await webviewFrame(page, 'IC-GAN: tiny', { timeoutMs: 60_000 });
      await frame.locator('.status-badge.status-stopped').first().waitFor({ timeout: 60_000 });
      const runJson = fs
        .readdirSync(path.join(workspace, 'runs'))
        .map((r) => path.join(workspace, 'runs', r, 'run.json'))
        .filter((f) => fs.existsSync(f));
      if (runJson.length !== 1) throw new Error(`expected one run, found ${runJson.length}`);
      const info = JSON.parse(fs.readFileSync(runJson[0] as string, 'utf8')) as {
        status: string;
        lastCheckpoint?: string;
        step: number;
      };
      if (info.status !== 'stopped' || !info.lastCheckpoint) {
        throw new Error(`run.json: ${JSON.stringify(info)}`);
      }
      metrics.stoppedAtStep = info.step;
      const runner = srv.processes().find((p) => /dist\/runner\.js/.test(p.cmd));
      if (runner) throw new Error(`runner ${runner.pid} still alive after Stop`);
    },
    { timeoutMs: 120_000 },
  );

  await step(
    'a runner that dies is reported with how it ended, and a button to the log',
    async () => {
      await runCommand(page, 'IC-GAN: Train');
      let runner: { pid: number } | undefined;
      const deadline = Date.now() + 60_000;
      while (!runner && Date.now() < deadline) {
        runner = srv.processes().find((p) => /dist\/runner\.js/.test(p.cmd));
        if (!runner) await new Promise((r) => setTimeout(r, 250));
      }
      if (!runner) throw new Error('no runner process appeared');
      // Let it get into training, then kill it the hard way.
      await new Promise((r) => setTimeout(r, 3000));
      process.kill(runner.pid, 'SIGKILL');
      const toast = page
        .locator('.notifications-toasts .notification-toast')
        .filter({ hasText: 'killed by SIGKILL' })
        .first();
      await toast.waitFor({ state: 'visible', timeout: 30_000 });
      await toast.getByRole('button', { name: 'Open Log' }).waitFor();
    },
    { timeoutMs: 120_000 },
  );

  await step('the runner searched neighbours on onnxruntime-node shipped in the .vsix', () => {
    const log = findFile(srv.profileDir, 'IC-GAN.log') ?? '';
    const text = log ? fs.readFileSync(log, 'utf8') : '';
    const m = /exact cosine search on ([^)]+)\)/.exec(text);
    if (!m) throw new Error(`no k-NN engine line in ${log || 'any IC-GAN.log'}`);
    // On tfjs the line names why ONNX Runtime did not load (see src/core/neighbours/onnxRuntime.ts).
    if (m[1] !== 'onnxruntime') throw new Error(`k-NN ran on ${m[1]}, not onnxruntime`);
  });

  await step('activation time from the extension log', () => {
    const log = findFile(srv.profileDir, 'IC-GAN.log') ?? '';
    const m = log
      ? /activated in ([\d.]+) ms \(bundle loaded in ([\d.]+) ms\)/.exec(
          fs.readFileSync(log, 'utf8'),
        )
      : null;
    if (!m) throw new Error(`no activation line in ${log || 'any IC-GAN.log'}`);
    metrics.activateMs = Number(m[1]);
    metrics.bundleLoadMs = Number(m[2]);
    fs.mkdirSync(TEST_TMP, { recursive: true });
    fs.writeFileSync(path.join(TEST_TMP, 'metrics.json'), `${JSON.stringify(metrics, null, 2)}\n`);
    console.log(`       metrics: ${JSON.stringify(metrics)}`);
  });

  await step('stop code-server: no process left', async () => {
    await workbench?.close();
    workbench = undefined;
    await srv.stop();
  });
});
