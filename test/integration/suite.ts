import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Mocha from 'mocha';
import * as vscode from 'vscode';
import type { Studio } from '../../src/extension/studio';

/** Runs inside the VS Code extension host (see runIntegration.ts). */

const WORKSPACE = process.env.ICGAN_INTEGRATION_WORKSPACE ?? '';
const CONFIG = path.join(WORKSPACE, 'tiny.icgan.json');

async function studio(): Promise<Studio> {
  const ext = vscode.extensions.all.find((e) => e.packageJSON.name === 'icgan-studio');
  assert.ok(ext, 'the extension is not loaded');
  const api = (await ext.activate()) as { studio: Studio };
  return api.studio;
}

function until<T>(what: string, probe: () => T | undefined, timeoutMs = 120_000): Promise<T> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      const v = probe();
      if (v !== undefined) resolve(v);
      else if (Date.now() - started > timeoutMs) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(tick, 250);
    };
    tick();
  });
}

function tests(): void {
  it('contributes its commands and validates configs with the schema', async () => {
    await studio();
    const commands = await vscode.commands.getCommands(true);
    for (const c of [
      'icgan.train',
      'icgan.stop',
      'icgan.resume',
      'icgan.openDashboard',
      'icgan.generateFromImage',
      'icgan.suggestTags',
      'icgan.newConfig',
    ]) {
      assert.ok(commands.includes(c), c);
    }
  });

  it('trains a config in a runner process, shows the dashboard and stops on request', async () => {
    const s = await studio();
    await vscode.window.showTextDocument(vscode.Uri.file(CONFIG));
    await vscode.commands.executeCommand('icgan.train');
    const training = await until('a training', () => s.trainings.get(CONFIG));
    assert.notEqual(training.runner.pid, process.pid, 'TensorFlow must run outside the host');
    await until('the dashboard', () => s.dashboards.get(CONFIG));
    const exit = await training.exited;
    assert.equal(exit.code, 0);
    const runDir = training.runDir;
    assert.ok(runDir && fs.existsSync(path.join(runDir, 'samples', 'latest.png')));
    // The host never loaded TensorFlow.
    assert.ok(!Object.keys(require.cache).some((k) => k.includes('@tensorflow')));
  });

  it('hovers a config with its latest samples', async () => {
    const doc = await vscode.workspace.openTextDocument(CONFIG);
    const pos = doc.positionAt(doc.getText().indexOf('"seed"') + 2);
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>(
      'vscode.executeHoverProvider',
      doc.uri,
      pos,
    );
    const text = hovers
      .flatMap((h) => h.contents)
      .map((c) => (typeof c === 'string' ? c : c.value))
      .join('\n');
    assert.match(text, /data:image\/png;base64,/);
    assert.match(text, /command:icgan\.openDashboard/);
  });
}

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', timeout: 180_000, color: false });
  mocha.suite.emit('pre-require', globalThis, 'suite', mocha);
  describe('IC-GAN Studio in VS Code', tests);
  return new Promise((resolve, reject) => {
    mocha.run((failures) => {
      process.stdout.write(
        `integration: ${mocha.suite.total() - failures} passed, ${failures} failed\n`,
      );
      if (failures > 0) reject(new Error(`${failures} integration tests failed`));
      else resolve();
    });
  });
}
