/**
 * Smoke test of the e2e harness against a plain code-server (no extension of ours installed):
 * command palette, quick open, editor hover, explorer context menu, webviews, screenshots, and a
 * clean stop. Run: `bash test/e2e/setup.sh && npx tsx test/e2e/smoke.e2e.ts`.
 */
import { deflateSync } from 'node:zlib';
import {
  contextMenuLabels,
  explorerContextMenu,
  hoverEditorText,
  makeWorkspace,
  onCleanup,
  openFile,
  openWorkbench,
  runCommand,
  runE2E,
  startCodeServer,
  step,
  webviewFrame,
  type CodeServer,
  type Workbench,
} from './codeServer';

/** A small RGB PNG (a 4×4-cell checkerboard), built byte by byte. */
function checkerboardPng(size = 32, cell = 8): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc32 = (bytes: Buffer) => {
    let c = 0xffffffff;
    for (const byte of bytes) c = (crcTable[(c ^ byte) & 0xff] ?? 0) ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // colour type: RGB
  const rows: number[] = [];
  for (let y = 0; y < size; y++) {
    rows.push(0); // filter: none
    for (let x = 0; x < size; x++) {
      const dark = (Math.floor(x / cell) + Math.floor(y / cell)) % 2 === 0;
      rows.push(...(dark ? [0x20, 0x40, 0xc0] : [0xf0, 0xc0, 0x20]));
    }
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.from(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const NAME_DESCRIPTION = 'Display name of the run (smoke-test schema).';

void runE2E(async () => {
  const workspace = makeWorkspace({
    'hello.icgan.json': '{\n  "name": "x"\n}\n',
    'pic.png': checkerboardPng(),
    'notes.md': '# Smoke notes\n\nA markdown file for the preview webview.\n',
  });

  let server: CodeServer | undefined;
  let workbench: Workbench | undefined;
  onCleanup(async () => {
    await workbench?.close();
  });

  const started = await step('start code-server', async () => {
    server = await startCodeServer({
      workspace,
      settings: {
        // A schema for *.icgan.json, so hovering "name" reliably shows its description.
        'json.schemas': [
          {
            fileMatch: ['*.icgan.json'],
            schema: {
              type: 'object',
              properties: { name: { type: 'string', description: NAME_DESCRIPTION } },
            },
          },
        ],
      },
    });
    console.log(`       ${server.url} (profile ${server.profileDir})`);
  });
  if (!started || !server) return;
  const srv = server;
  // Stop even when a later step throws; stop() is idempotent.
  onCleanup(() => srv.stop());

  if (!(await step('open workbench', async () => (workbench = await openWorkbench(srv))))) return;
  const page = (workbench as Workbench).page;

  // First palette use right after the workbench appears: a command contributed by a (built-in)
  // extension, which is exactly what the palette does not list yet for a few seconds.
  await step('runCommand (contributed): Markdown: Open Preview → webview content', async () => {
    await openFile(page, 'notes.md');
    await runCommand(page, 'Markdown: Open Preview');
    const frame = await webviewFrame(page, 'Preview notes.md');
    await frame.getByRole('heading', { name: 'Smoke notes' }).waitFor({ state: 'visible' });
  });

  await step('quick open hello.icgan.json', () => openFile(page, 'hello.icgan.json'));

  await step('runCommand: View: Toggle Minimap (minimap disappears)', async () => {
    const minimap = page.locator('.editor-group-container.active .monaco-editor .minimap');
    await minimap.waitFor({ state: 'visible' });
    await runCommand(page, 'View: Toggle Minimap');
    await minimap.waitFor({ state: 'hidden' });
  });

  await step('runCommand: View: Toggle Word Wrap', () =>
    runCommand(page, 'View: Toggle Word Wrap'),
  );

  await step('hover "name" shows the schema description', async () => {
    const hover = await hoverEditorText(page, '"name"');
    await hover.filter({ hasText: NAME_DESCRIPTION }).first().waitFor({ state: 'visible' });
  });

  await step('explorer context menu on pic.png lists Copy Path', async () => {
    await page.mouse.move(5, 400); // away from the hover of the previous step
    await explorerContextMenu(page, 'pic.png', null);
    const labels = await contextMenuLabels(page);
    console.log(`       menu: ${labels.join(' | ')}`);
    for (const expected of ['Copy Path', 'Copy Relative Path', 'Rename...']) {
      if (!labels.includes(expected)) throw new Error(`"${expected}" not in the context menu`);
    }
  });

  await step('explorer context menu: Open to the Side → image preview webview', async () => {
    await page.keyboard.press('Escape'); // the menu left open by the previous step
    await explorerContextMenu(page, 'pic.png', 'Open to the Side');
    const frame = await webviewFrame(page, 'pic.png');
    await frame.locator('img').first().waitFor({ state: 'visible' });
  });

  await step('two visible webviews: webviewFrame picks each by its tab title', async () => {
    // Group 1 shows hello.icgan.json now; bring its markdown preview tab back to the front.
    await page.locator('.tabs-container .tab').filter({ hasText: 'Preview notes.md' }).click();
    // A hidden webview's iframe is dropped and made anew when its tab comes back.
    const preview = await webviewFrame(page, 'Preview notes.md');
    await preview.getByRole('heading', { name: 'Smoke notes' }).waitFor({ state: 'visible' });
    if ((await preview.locator('img').count()) !== 0) throw new Error('preview frame has an img');
    const image = await webviewFrame(page, 'pic.png');
    await image.locator('img').first().waitFor({ state: 'visible' });
    const visible = await page.locator('iframe.webview.ready').filter({ visible: true }).count();
    if (visible !== 2) throw new Error(`expected 2 visible webviews, saw ${visible}`);
  });

  await step('stop code-server: no process left', async () => {
    await workbench?.close();
    workbench = undefined;
    await srv.stop();
  });
});
